"""Hypothesis-generated sequences of disconnects, outcomes and user calls against the actor.

Each example runs the real ``Reconnector`` on Trio's virtual clock, logs every call and
attempt, then checks the log against the rules of ``kazoo_actors.actors.reconnect``
using a small model of what the program told the actor.
"""

from __future__ import annotations

import random
from typing import Literal

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from kazoo_actors.actors.reconnect import Reconnector
from kazoo_actors.reconnect_policy import ReconnectPolicy

Op = Literal["disconnected", "registered", "replaced", "start_auto", "stop_auto", "manual"]
OPS: tuple[Op, ...] = (
    "disconnected",
    "registered",
    "replaced",
    "start_auto",
    "stop_auto",
    "manual",
)
DELAY = 3.0


@attrs.frozen
class Call:
    time: float
    op: Op
    in_flight: bool


@attrs.frozen
class Start:
    time: float
    number: int
    notified: int


@attrs.frozen
class End:
    time: float
    ok: bool


Entry = Call | Start | End


def run_sequence(
    max_attempts: int,
    steps: list[tuple[float, Op]],
    outcomes: list[tuple[bool, float]],
    seed: int,
) -> list[Entry]:
    log: list[Entry] = []
    notified: list[int] = []
    outcomes = list(outcomes)

    async def attempt(number: int) -> bool:
        log.append(Start(trio.current_time(), number, notified[-1]))
        ok, duration = outcomes.pop(0) if outcomes else (False, 0.5)
        await trio.sleep(duration)
        log.append(End(trio.current_time(), ok))
        return ok

    async def main() -> None:
        policy = ReconnectPolicy(max_attempts=max_attempts, delay=DELAY)
        reconnector = Reconnector(
            policy, attempt, on_attempt=notified.append, rng=random.Random(seed)
        )
        calls = {
            "disconnected": reconnector.disconnected,
            "registered": reconnector.registered,
            "replaced": reconnector.replaced,
            "start_auto": reconnector.start_auto_reconnect,
            "stop_auto": reconnector.stop_auto_reconnect,
            "manual": reconnector.reconnect_now,
        }
        async with trio.open_nursery() as nursery:
            await nursery.start(reconnector.run)
            for gap, op in steps:
                await trio.sleep(gap)
                in_flight = reconnector.statistics().in_flight
                log.append(Call(trio.current_time(), op, in_flight))
                calls[op]()
            await trio.sleep(120)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return log


@attrs.define
class Model:
    """What the program has told the actor so far, and what happened since the last attempt."""

    auto: bool
    connected: bool = True
    replaced: bool = False
    previous_number: int = 0
    reset_since_attempt: bool = False
    calls_since_end: int = 0
    last_failure_end: float | None = None
    manual_at: float | None = None
    fresh_disconnect_at: float | None = None
    calls_since_disconnect: int = 0


def check(log: list[Entry], max_attempts: int) -> None:
    m = Model(auto=max_attempts != 0)
    for entry in log:
        if isinstance(entry, Call):
            m.calls_since_end += 1
            m.calls_since_disconnect += 1
            if entry.op == "disconnected" and m.connected:
                m.connected = False
                m.reset_since_attempt = True
                m.fresh_disconnect_at = entry.time
                m.calls_since_disconnect = 0
            elif entry.op == "registered":
                m.connected, m.replaced, m.reset_since_attempt = True, False, True
            elif entry.op == "replaced":
                m.replaced = True
            elif entry.op == "start_auto":
                m.auto, m.reset_since_attempt = True, True
            elif entry.op == "stop_auto":
                m.auto = False
            elif entry.op == "manual" and not entry.in_flight:
                m.manual_at = entry.time
        elif isinstance(entry, Start):
            manual = m.manual_at == entry.time
            # Attempt numbers count up by one; they only restart at 1 after a reset.
            assert entry.number == entry.notified
            if m.reset_since_attempt:
                assert entry.number in (1, m.previous_number + 1)
            else:
                assert entry.number == m.previous_number + 1
            if not manual:
                # Automatic attempts only while disconnected, auto on, not replaced.
                assert not m.connected
                assert m.auto
                assert not m.replaced
                if max_attempts > 0:
                    assert entry.number <= max_attempts
                same_run = not m.reset_since_attempt and m.calls_since_end == 0
                if m.last_failure_end is not None and same_run:
                    assert entry.time - m.last_failure_end >= DELAY - 1e-9
                if entry.number == 1 and m.calls_since_disconnect == 0:
                    assert m.fresh_disconnect_at is not None
                    assert 0.5 <= entry.time - m.fresh_disconnect_at <= 1.0 + 1e-9
            m.previous_number = entry.number
            m.reset_since_attempt = False
            m.manual_at = None
            m.fresh_disconnect_at = None
        else:
            m.calls_since_end = 0
            if entry.ok:
                m.connected, m.replaced, m.reset_since_attempt = True, False, True
                m.last_failure_end = m.fresh_disconnect_at = None
            else:
                m.last_failure_end = entry.time
    # Liveness: a fresh disconnection with auto-reconnect on is followed by attempt 1.
    if m.fresh_disconnect_at is not None and m.calls_since_disconnect == 0:
        assert not (m.auto and not m.replaced), "no attempt after a disconnection"


steps_strategy = st.lists(
    st.tuples(st.floats(min_value=0.01, max_value=20.0), st.sampled_from(OPS)), max_size=25
)
outcomes_strategy = st.lists(
    st.tuples(st.booleans(), st.floats(min_value=0.0, max_value=4.0)), max_size=30
)


@settings(max_examples=150, deadline=None)
@given(
    max_attempts=st.integers(min_value=-1, max_value=4),
    steps=steps_strategy,
    outcomes=outcomes_strategy,
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_random_sequences_keep_the_rules(
    max_attempts: int,
    steps: list[tuple[float, Op]],
    outcomes: list[tuple[bool, float]],
    seed: int,
) -> None:
    check(run_sequence(max_attempts, steps, outcomes, seed), max_attempts)


DISCONNECT = Call(0.0, "disconnected", False)
BROKEN_LOGS: dict[str, list[Entry]] = {
    "delay too short": [DISCONNECT, Start(0.7, 1, 1), End(1.0, False), Start(2.0, 2, 2)],
    "numbering skips": [DISCONNECT, Start(0.7, 2, 2)],
    "after replaced": [Call(0.0, "replaced", False), DISCONNECT, Start(0.7, 1, 1)],
    "first too late": [DISCONNECT, Start(1.5, 1, 1)],
    "none at all": [DISCONNECT],
}


@pytest.mark.parametrize("name", sorted(BROKEN_LOGS))
def test_the_checker_rejects_a_broken_log(name: str) -> None:
    with pytest.raises(AssertionError):
        check(BROKEN_LOGS[name], max_attempts=-1)
