"""Hypothesis: any sequence of program calls and pauses on an account whose server is missing.

Run on Trio's virtual clock (connecting to a closed loopback port fails at once).
Whatever the order, the account never crashes, numbers its reconnect attempts
1, 2, 3... within each series, honours the attempt limit, and says nothing more
after logout.
"""

from __future__ import annotations

import random

import trio
import trio.testing
from closed_port import closed_port_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kazoo_actors.engine import open_engine
from kazoo_actors.events import AccountEvent, Notification
from kazoo_actors.params import RegisterParams

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("sleep"), st.floats(min_value=0.0, max_value=12.0)),
        st.tuples(st.sampled_from(["reconnect", "stop_auto", "start_auto"]), st.just(0.0)),
    ),
    max_size=12,
)


async def _scenario(
    max_attempts: int, actions: list[tuple[str, float]], seen: list[AccountEvent]
) -> None:
    async with open_engine(monitor_connectivity=False, rng=random.Random(3)) as engine:
        account = await engine.register(
            RegisterParams(
                ws_url=closed_port_url(),
                realm="void.test",
                private_identity="quinn",
                public_identity="quinn",
                password="pw",
                reconnect_delay=2000,
                reconnect_max_attempts=max_attempts,
                monitor_connectivity=False,
                on_error=seen.append,
                on_notified=seen.append,
            )
        )
        for name, seconds in actions:
            if name == "sleep":
                await trio.sleep(seconds)
            elif name == "reconnect":
                account.reconnect()
            elif name == "stop_auto":
                account.stop_auto_reconnect()
            else:
                account.start_auto_reconnect()
            await trio.sleep(0)
        await trio.sleep(1)
        with trio.fail_after(5):
            await account.logout()
        logged_out_at = len(seen)
        await trio.sleep(30)
        assert len(seen) == logged_out_at, "events after logout"
        assert engine.statistics().supervisor.failures == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(max_attempts=st.sampled_from([-1, 0, 1, 3]), actions=ACTIONS)
def test_any_call_sequence_keeps_the_account_consistent(
    max_attempts: int, actions: list[tuple[str, float]]
) -> None:
    seen: list[AccountEvent] = []
    trio.run(
        _scenario, max_attempts, actions, seen, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    explicit = any(name in ("reconnect", "start_auto") for name, _ in actions)
    previous = 0
    assert "server_not_reachable" in [e.key for e in seen]
    for event in seen:
        assert event.key in ("server_not_reachable", "reconnecting_notification")
        if isinstance(event, Notification):
            assert event.attempt is not None and event.attempt >= 1
            # A series counts on from where it was (a manual reconnect() included).
            assert event.attempt == previous + 1
            previous = event.attempt
    if not explicit:
        attempts = sum(1 for e in seen if e.key == "reconnecting_notification")
        limit = {0: 0, 1: 1, 3: 3}.get(max_attempts)
        if limit is not None:
            assert attempts <= limit
