"""The engine's connectivity news reaches an account whose mailbox holds many program
commands: it is merged with them, never refused or lost, and the account still reports
going offline. On Trio's virtual clock, with a network path the test sets (no routing
tables read) and a server port that refuses connections."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import trio
import trio.testing
from closed_port import closed_port_url

from kazoo_actors import engine as engine_module
from kazoo_actors.actors.account_commands import ConnectivityChanged
from kazoo_actors.actors.connectivity import ConnectivityMonitor
from kazoo_actors.engine import open_engine
from kazoo_actors.events import AccountEvent
from kazoo_actors.network_path import IPAddress, NetworkPathReader, PathState, PathStatus
from kazoo_actors.params import RegisterParams


class SetPath(NetworkPathReader):
    """Every watched path is up or down as the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.status = PathStatus.ONLINE

    def read(self, addresses: Iterable[IPAddress]) -> dict[IPAddress, PathState]:
        return {
            address: PathState(status=self.status, interface="eth0", reason="set by the test")
            for address in addresses
        }


@pytest.fixture
def path(monkeypatch: pytest.MonkeyPatch) -> SetPath:
    reader = SetPath()

    def monitor(**options: Any) -> ConnectivityMonitor:
        return ConnectivityMonitor(reader=reader, **options)

    monkeypatch.setattr(engine_module, "ConnectivityMonitor", monitor)
    return reader


def _params(**callbacks: Any) -> RegisterParams:
    return RegisterParams(
        ws_url=closed_port_url(),
        realm="nowhere.test",
        private_identity="pat",
        public_identity="pat",
        password="pw",
        reconnect_delay=3000,
        monitor_connectivity=True,
        **callbacks,
    )


def _flood(account: Any) -> None:
    """The program's setters in a loop, far past the 32 commands the mailbox once held."""
    for _ in range(100):
        account.reconnect()
        account.stop_auto_reconnect()
        account.start_auto_reconnect()


def _went_offline(seen: list[AccountEvent]) -> bool:
    return any(
        e.key == "connectivity_notification" and getattr(e, "status", None) == "offline"
        for e in seen
    )


async def test_an_account_starting_offline_learns_it_behind_many_commands(
    autojump_clock: trio.testing.MockClock, path: SetPath
) -> None:
    path.status = PathStatus.OFFLINE
    seen: list[AccountEvent] = []
    async with open_engine(monitor_connectivity=True) as engine:
        account = await engine.register(_params(on_notified=seen.append))
        _flood(account)  # before the actor's task starts and is told the path is down
        await trio.sleep(1)
        assert _went_offline(seen)
        assert engine.statistics().supervisor.failures == 0
        with trio.fail_after(60):
            await account.logout()


async def test_a_path_going_down_reaches_an_account_busy_with_many_commands(
    autojump_clock: trio.testing.MockClock, path: SetPath
) -> None:
    seen: list[AccountEvent] = []
    busy = trio.Event()
    release = trio.Event()

    async def slow_on_error(event: AccountEvent) -> None:
        # The actor awaits its callback and reads no command meanwhile.
        busy.set()
        await release.wait()

    async with open_engine(monitor_connectivity=True, connectivity_period=1.0) as engine:
        account = await engine.register(_params(on_notified=seen.append, on_error=slow_on_error))
        with trio.fail_after(30):
            await busy.wait()  # the refused connection's server_not_reachable
        _flood(account)
        path.status = PathStatus.OFFLINE
        await trio.sleep(3)  # the monitor polls and the engine tells the account
        pending = account._actor.mailbox._items or []
        assert ConnectivityChanged(online=False) in pending
        assert len(pending) <= 8
        assert not _went_offline(seen)
        release.set()
        await trio.sleep(1)
        assert _went_offline(seen)
        with trio.fail_after(60):
            await account.logout()
