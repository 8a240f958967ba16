"""The reconnect actor on a virtual clock: seed timing, limits, user calls, the shared gate."""

from __future__ import annotations

import random

import attrs
import trio

from kazoo_actors.actors.reconnect import Reconnector
from kazoo_actors.attempt_gate import AttemptGate
from kazoo_actors.reconnect_policy import ReconnectPolicy


@attrs.define
class Script:
    """An ``attempt`` function with scripted outcomes; records when attempts ran."""

    outcomes: list[bool] = attrs.field(factory=list)
    duration: float = 0.2
    started: list[tuple[float, int]] = attrs.field(factory=list)
    ended: list[float] = attrs.field(factory=list)
    notified: list[int] = attrs.field(factory=list)

    async def attempt(self, number: int) -> bool:
        self.started.append((trio.current_time(), number))
        await trio.sleep(self.duration)
        self.ended.append(trio.current_time())
        return self.outcomes.pop(0) if self.outcomes else False

    def reconnector(self, policy: ReconnectPolicy, **kwargs: object) -> Reconnector:
        return Reconnector(
            policy,
            self.attempt,
            on_attempt=self.notified.append,
            rng=random.Random(1),
            **kwargs,  # type: ignore[arg-type]
        )


def gaps(script: Script) -> list[float]:
    return [start - end for (start, _), end in zip(script.started[1:], script.ended, strict=False)]


async def test_seed_timing_and_max_attempts(autojump_clock: trio.abc.Clock) -> None:
    script = Script()
    reconnector = script.reconnector(ReconnectPolicy(max_attempts=3, delay=5.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        t0 = trio.current_time()
        reconnector.disconnected()
        await trio.sleep(100)
        nursery.cancel_scope.cancel()
    assert [n for _, n in script.started] == [1, 2, 3]
    assert script.notified == [1, 2, 3]
    assert 0.5 <= script.started[0][0] - t0 <= 1.0
    assert gaps(script) == [5.0, 5.0]
    stats = reconnector.statistics()
    assert (stats.attempts, stats.failures, stats.successes, stats.runs) == (3, 3, 0, 1)
    assert stats.next_attempt_at is None


async def test_forever_by_default_and_stops_on_success(autojump_clock: trio.abc.Clock) -> None:
    script = Script(outcomes=[False] * 6 + [True])
    reconnector = script.reconnector(ReconnectPolicy())
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        reconnector.disconnected()
        await trio.sleep(3600)
        nursery.cancel_scope.cancel()
    assert script.notified == [1, 2, 3, 4, 5, 6, 7]
    stats = reconnector.statistics()
    assert (stats.successes, stats.disconnected, stats.current_attempt) == (1, False, 0)


async def test_replaced_registration_never_auto_reconnects(autojump_clock: trio.abc.Clock) -> None:
    script = Script(outcomes=[False, True])
    reconnector = script.reconnector(ReconnectPolicy())
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        reconnector.replaced()
        reconnector.disconnected()
        reconnector.start_auto_reconnect()
        await trio.sleep(600)
        assert script.started == []
        # The program may still ask explicitly, and that is announced too.
        reconnector.reconnect_now()
        await trio.sleep(1)
        assert script.notified == [1]
        reconnector.reconnect_now()
        await trio.sleep(1)
        assert script.notified == [1, 2]
        assert not reconnector.statistics().replaced
        nursery.cancel_scope.cancel()
    assert reconnector.statistics().manual_attempts == 2


async def test_zero_disables_until_started_explicitly(autojump_clock: trio.abc.Clock) -> None:
    script = Script()
    reconnector = script.reconnector(ReconnectPolicy(max_attempts=0))
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        reconnector.disconnected()
        await trio.sleep(60)
        assert script.started == []
        reconnector.start_auto_reconnect()
        await trio.sleep(60)
        # Started explicitly, a disabled configuration means no limit.
        assert len(script.started) > 10
        reconnector.stop_auto_reconnect()
        count = len(script.started)
        await trio.sleep(60)
        assert len(script.started) == count
        nursery.cancel_scope.cancel()


async def test_manual_reconnect_during_a_run_keeps_counting(autojump_clock: trio.abc.Clock) -> None:
    script = Script()
    reconnector = script.reconnector(ReconnectPolicy(delay=10.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        reconnector.disconnected()
        await trio.sleep(3)  # attempt 1 has failed, attempt 2 is 10 s away
        manual_at = trio.current_time()
        reconnector.reconnect_now()
        await trio.sleep(12)
        nursery.cancel_scope.cancel()
    assert script.notified == [1, 2, 3]
    assert script.started[1][0] == manual_at
    # After the manual attempt failed the run waits the full delay again.
    assert script.started[2][0] - script.ended[1] == 10.0


async def test_going_online_brings_the_next_attempt_forward(autojump_clock: trio.abc.Clock) -> None:
    script = Script()
    reconnector = script.reconnector(ReconnectPolicy(delay=30.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        reconnector.disconnected()
        await trio.sleep(5)
        online_at = trio.current_time()
        reconnector.start_auto_reconnect()
        await trio.sleep(2)
        nursery.cancel_scope.cancel()
    assert script.notified == [1, 2]
    assert 0.5 <= script.started[1][0] - online_at <= 1.0


async def test_backoff_with_full_jitter(autojump_clock: trio.abc.Clock) -> None:
    script = Script(duration=0.0)
    policy = ReconnectPolicy(max_attempts=12, delay=2.0, backoff=True, backoff_cap=20.0)
    reconnector = script.reconnector(policy)
    async with trio.open_nursery() as nursery:
        await nursery.start(reconnector.run)
        reconnector.disconnected()
        await trio.sleep(1000)
        nursery.cancel_scope.cancel()
    assert script.notified == list(range(1, 13))
    for attempt, gap in enumerate(gaps(script), start=2):
        assert 0.0 <= gap <= policy.backoff_ceiling(attempt)
    assert len(set(gaps(script))) == len(gaps(script))


async def test_gate_bounds_attempts_in_flight_across_accounts(
    autojump_clock: trio.abc.Clock,
) -> None:
    gate = AttemptGate(10)
    scripts = [Script(outcomes=[False, True], duration=1.0) for _ in range(200)]
    reconnectors = [s.reconnector(ReconnectPolicy(delay=2.0), gate=gate) for s in scripts]
    async with trio.open_nursery() as nursery:
        for r in reconnectors:
            await nursery.start(r.run)
        for r in reconnectors:
            r.disconnected()
        with trio.fail_after(120):
            while any(r.statistics().disconnected for r in reconnectors):
                await trio.sleep(1)
        nursery.cancel_scope.cancel()
    stats = gate.statistics()
    assert stats.peak_in_flight == 10
    assert stats.entered == 400
    assert (stats.in_flight, stats.waiting) == (0, 0)
