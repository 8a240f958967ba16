"""The engine and its account actors, on Trio's virtual clock and with no SIP server: a
crashed actor is replaced, a logged-out one leaves the supervisor, server URLs are looked
up once."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from closed_port import closed_port_url

from kazoo_actors.actors.account import AccountActor
from kazoo_actors.actors.account_state import SessionEnd
from kazoo_actors.engine import open_engine
from kazoo_actors.params import RegisterParams


def _params() -> RegisterParams:
    return RegisterParams(
        ws_url=closed_port_url(),
        realm="nowhere.test",
        private_identity="pat",
        public_identity="pat",
        password="pw",
        reconnect_delay=3000,
        monitor_connectivity=False,
    )


async def test_a_crashed_actor_is_replaced_after_the_reconnect_delay(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = AccountActor._session
    crashed: list[AccountActor] = []

    async def crash_once(actor: AccountActor) -> SessionEnd:
        if not crashed:
            crashed.append(actor)
            raise RuntimeError("a bug in the actor")
        return await session(actor)

    monkeypatch.setattr(AccountActor, "_session", crash_once)
    async with open_engine(monitor_connectivity=False) as engine:
        began = trio.current_time()
        account = await engine.register(_params())
        first = account._actor
        await trio.sleep(1.0)
        assert crashed == [first] and first.finished
        fresh = account._actor  # the handle follows the fresh actor at once...
        assert fresh is not first and fresh.params is first.params and fresh.name == account.id
        assert fresh.connect_failures == 0  # ...which runs after the reconnect delay
        await trio.sleep(2.5)
        assert account._actor is fresh and not fresh.finished and fresh.connect_failures >= 1
        stats = engine.statistics().supervisor
        assert (stats.failures, stats.restarts, stats.running) == (1, 1, 1)
        assert trio.current_time() - began == pytest.approx(3.5)
        await account.logout()
        assert account.id not in engine._supervisor
        assert engine.statistics().supervisor.children == 0
        assert engine.accounts() == []


async def test_a_logout_the_crashing_actor_never_read_still_returns(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(actor: AccountActor) -> SessionEnd:
        raise RuntimeError("a bug in the actor")

    monkeypatch.setattr(AccountActor, "_session", crash)
    async with open_engine(monitor_connectivity=False) as engine:
        account = await engine.register(_params())
        first = account._actor
        # Posted before the actor's task first runs; the task then crashes unread.
        with trio.fail_after(60):
            await account.logout()
        assert first.finished and not first.mailbox
        assert first._logouts is None  # the events were set and let go
        assert engine.accounts() == []


async def test_setters_in_a_loop_before_the_actor_runs_are_taken_then_logout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_engine(monitor_connectivity=False) as engine:
        account = await engine.register(_params())
        for _ in range(1000):  # the actor has not run yet: nothing empties its mailbox
            account.reconnect()
            account.stop_auto_reconnect()
            account.start_auto_reconnect()
            account.monitor_connectivity(True)
        # Merged, never refused: what the actor will read leaves it as all 4000 would.
        assert len(account._actor.mailbox) <= 7
        with trio.fail_after(60):
            await account.logout()
        assert account._actor.finished
        assert engine.accounts() == []


async def test_logout_leaves_no_child_behind(autojump_clock: trio.testing.MockClock) -> None:
    async with open_engine(monitor_connectivity=False) as engine:
        accounts = [await engine.register(_params()) for _ in range(3)]
        await trio.sleep(0.5)
        assert engine.statistics().supervisor.running == 3
        for account in accounts:
            await account.logout()
        stats = engine.statistics().supervisor
        assert (stats.children, stats.running, stats.failures) == (0, 0, 0)
        assert engine.accounts() == []


async def test_attempt_started_at_is_the_statistics_value(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_engine(monitor_connectivity=False) as engine:
        account = await engine.register(_params())
        assert math.isnan(account.attempt_started_at)
        await trio.sleep(0.5)
        assert account.attempt_started_at == account.statistics().attempt_started_at
        assert account.attempt_started_at <= trio.current_time()
        await account.logout()


async def test_accounts_of_one_server_url_share_one_lookup_and_one_watch(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    getaddrinfo = trio.socket.getaddrinfo

    async def counting(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return await getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(trio.socket, "getaddrinfo", counting)
    port = _params().ws_url.rsplit(":", 1)[1]  # type: ignore[union-attr]
    by_name = attrs.evolve(_params(), ws_url=f"ws://localhost:{port}")
    async with open_engine(monitor_connectivity=True) as engine:
        named = [await engine.register(by_name) for _ in range(3)]
        literal = [await engine.register(_params()) for _ in range(2)]
        assert lookups == ["localhost"]
        assert len({a.address for a in named}) == 1
        assert named[0].address in ("127.0.0.1", "::1")
        assert [a.address for a in literal] == ["127.0.0.1", "127.0.0.1"]
        assert set(engine._paths) == {named[0].address, "127.0.0.1"}
        for account in named + literal:
            await account.logout()
