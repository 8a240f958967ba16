"""Engine and account behaviour that needs no SIP server, on Trio's virtual clock.

Connecting to a port where nothing listens fails at once on loopback, so the
reconnect policy's timing can be checked with ``autojump_clock`` exactly.
"""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing
from closed_port import closed_port_url

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.errors import MediaStackUnavailable
from kazoo_actors.events import AccountEvent, Notification
from kazoo_actors.params import RegisterParams


def _params(**changes: object) -> RegisterParams:
    settings: dict[str, object] = {
        "ws_url": closed_port_url(),
        "realm": "nowhere.test",
        "private_identity": "sip:pat@nowhere.test",
        "public_identity": "pat",
        "password": "pw",
        "reconnect_delay": 2000,
        "monitor_connectivity": False,
        **changes,
    }
    return RegisterParams(**settings)  # type: ignore[arg-type]


async def _collect(events: list[tuple[float, AccountEvent]], event: AccountEvent) -> None:
    events.append((trio.current_time(), event))


async def test_seed_timing_first_attempt_soon_then_fixed_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[tuple[float, AccountEvent]] = []
    async with open_engine(monitor_connectivity=False) as engine:
        start = trio.current_time()
        account = await engine.register(
            _params(
                reconnect_max_attempts=3,
                on_error=lambda e: seen.append((trio.current_time(), e)),
                on_notified=lambda e: seen.append((trio.current_time(), e)),
            )
        )
        await trio.sleep(30)
        assert account.state is AccountState.DOWN
    keys = [e.key for _, e in seen]
    assert keys == ["server_not_reachable"] + ["reconnecting_notification"] * 3
    times = [t - start for t, _ in seen]
    assert 0.5 <= times[1] <= 1.0 + 0.01  # the first attempt comes shortly
    assert times[2] - times[1] == pytest.approx(2.0, abs=0.05)
    assert times[3] - times[2] == pytest.approx(2.0, abs=0.05)
    attempts = [e.attempt for _, e in seen if isinstance(e, Notification)]
    assert attempts == [1, 2, 3]


async def test_exponential_backoff_spreads_attempts(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[float] = []
    async with open_engine(monitor_connectivity=False, rng=random.Random(7)) as engine:
        await engine.register(
            _params(
                reconnect_max_attempts=6,
                reconnect_backoff="exponential",
                reconnect_backoff_cap=8.0,
                on_notified=lambda _e: seen.append(trio.current_time()),
            )
        )
        await trio.sleep(120)
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert len(seen) == 6
    # full jitter: each pause is uniform in [0, min(cap, 2 s * 2**(n-2))], so they differ
    assert all(0 <= gap <= 8.0 + 0.05 for gap in gaps)
    assert len({round(gap, 3) for gap in gaps}) == len(gaps)


async def test_stop_and_start_auto_reconnect_and_logout_when_down(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[str] = []
    async with open_engine(monitor_connectivity=False) as engine:
        account = await engine.register(
            _params(on_error=lambda e: seen.append(e.key), on_notified=lambda e: seen.append(e.key))
        )
        await trio.sleep(0.1)
        assert account.state is AccountState.WAITING
        account.stop_auto_reconnect()
        await trio.sleep(10)
        assert account.statistics().state == "down"
        assert seen == ["server_not_reachable"]
        account.start_auto_reconnect()
        await trio.sleep(0.1)
        assert seen == ["server_not_reachable", "reconnecting_notification"]
        account.stop_auto_reconnect()
        await trio.sleep(1)
        with trio.fail_after(1):
            await account.logout()
        assert account.statistics().state == "logged out"
        assert engine.accounts() == []


async def test_reconnect_when_down_makes_an_attempt_even_with_max_zero(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[str] = []
    async with open_engine(monitor_connectivity=False) as engine:
        account = await engine.register(
            _params(
                reconnect_max_attempts=0,
                on_error=lambda e: seen.append(e.key),
                on_notified=lambda e: seen.append(e.key),
            )
        )
        await trio.sleep(10)
        assert seen == ["server_not_reachable"]
        account.reconnect()
        await trio.sleep(10)
        # The program asked for this attempt, so its failure is reported again;
        # with automatic reconnection off, no further attempt follows.
        assert seen == [
            "server_not_reachable",
            "reconnecting_notification",
            "server_not_reachable",
        ]
        assert account.state is AccountState.DOWN


async def test_rtmp_is_refused_with_a_typed_error() -> None:
    with pytest.raises(MediaStackUnavailable, match="RTMP"):
        async with open_engine(force_rtmp=True):
            pass
    async with open_engine(monitor_connectivity=False) as engine:
        with pytest.raises(MediaStackUnavailable, match="RTMP"):
            await engine.register(
                RegisterParams(
                    rtmp_url="rtmp://gw.test/sip",
                    realm="r.test",
                    private_identity="u",
                    public_identity="u",
                    password="p",
                )
            )


async def test_many_accounts_are_independent_and_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_engine(monitor_connectivity=False, max_connecting=3) as engine:
        accounts = [
            await engine.register(_params(public_identity=f"u{i}", reconnect_max_attempts=0))
            for i in range(20)
        ]
        await trio.sleep(5)
        stats = engine.statistics()
        assert stats.accounts == 20
        assert stats.states == {"down": 20}
        assert stats.attempts.peak_in_flight <= 3
        assert stats.supervisor.failures == 0
        for account in accounts:
            await account.logout()
        assert engine.statistics().accounts == 0
