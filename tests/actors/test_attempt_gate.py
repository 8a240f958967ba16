"""The engine-wide bound on connection attempts in flight."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from kazoo_actors.attempt_gate import AttemptGate


async def test_gate_bounds_attempts_in_flight_across_accounts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = AttemptGate(10)
    finished = 0

    async def account() -> None:
        nonlocal finished
        for _attempt in range(2):
            async with gate.slot():
                await trio.sleep(1.0)
            await trio.sleep(2.0)
        finished += 1

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for _ in range(200):
                nursery.start_soon(account)
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
    manager = gate.slot()
    async with trio.open_nursery() as nursery:
        await manager.__aenter__()
        nursery.start_soon(manager.__aexit__, None, None, None)
    assert gate.statistics().in_flight == 0


async def test_waiters_take_freed_slots_in_arrival_order() -> None:
    gate = AttemptGate(1)
    order: list[int] = []

    async def attempt(number: int) -> None:
        async with gate.slot():
            order.append(number)
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        for number in range(5):
            nursery.start_soon(attempt, number)
            await trio.testing.wait_all_tasks_blocked()
    assert order == [0, 1, 2, 3, 4]
    stats = gate.statistics()
    assert (stats.entered, stats.peak_in_flight, stats.in_flight, stats.waiting) == (5, 1, 0, 0)


async def test_a_cancelled_waiter_leaves_no_slot_behind() -> None:
    gate = AttemptGate(1)
    held = gate.slot()
    await held.__aenter__()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.slot().__aenter__)
        await trio.testing.wait_all_tasks_blocked()
        assert gate.statistics().waiting == 1
        nursery.cancel_scope.cancel()
    assert gate.statistics().waiting == 0
    await held.__aexit__(None, None, None)
    assert gate.statistics().in_flight == 0
    async with gate.slot():
        assert gate.statistics().in_flight == 1


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        AttemptGate(0)


async def test_enter_nowait_and_leave_share_the_slots_and_queue_of_slot() -> None:
    gate = AttemptGate(1)
    assert gate.enter_nowait()
    assert not gate.enter_nowait()  # full: nothing taken
    order: list[str] = []

    async def by_context_manager() -> None:
        async with gate.slot():
            order.append("slot")

    async def by_enter() -> None:
        await gate.enter()
        order.append("enter")
        gate.leave()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(by_context_manager)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(by_enter)
        await trio.testing.wait_all_tasks_blocked()
        assert gate.statistics().waiting == 2
        gate.leave()
    assert order == ["slot", "enter"]
    stats = gate.statistics()
    assert (stats.in_flight, stats.waiting, stats.entered, stats.peak_in_flight) == (0, 0, 3, 1)
