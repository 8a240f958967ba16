"""The engine-wide bound on connection attempts in flight."""

from __future__ import annotations

import trio
import trio.testing

from kazoo_actors.attempt_gate import AttemptGate


async def test_gate_bounds_attempts_in_flight_across_accounts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = AttemptGate(10)
    finished = 0

    async def account(owner: object) -> None:
        nonlocal finished
        for _attempt in range(2):
            async with gate.slot(owner):
                await trio.sleep(1.0)
            await trio.sleep(2.0)
        finished += 1

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for _ in range(200):
                nursery.start_soon(account, object())
            await trio.sleep(0.5)
            during = gate.statistics()
    assert (during.in_flight, during.waiting) == (10, 190)
    stats = gate.statistics()
    assert finished == 200
    assert stats.peak_in_flight == 10
    assert stats.entered == 400
    assert (stats.in_flight, stats.waiting) == (0, 0)


async def test_a_slot_may_be_released_by_another_task() -> None:
    gate = AttemptGate(1)
    owner = object()
    manager = gate.slot(owner)
    async with trio.open_nursery() as nursery:
        await manager.__aenter__()
        nursery.start_soon(manager.__aexit__, None, None, None)
    assert gate.statistics().in_flight == 0
