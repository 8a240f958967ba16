"""Reconnection by the seed's rules, against a Kamailio that is missing, killed, restarted."""

from __future__ import annotations

import os
import signal

import pytest
import trio
from engine_recorder import Recorder, closed_port_url, lab_params

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.events import Notification
from kazoo_actors.lab.kamailio import KamailioServer

pytestmark = pytest.mark.kamailio


def _attempts(recorder: Recorder) -> list[int | None]:
    return [
        e.attempt
        for e in recorder.events
        if isinstance(e, Notification) and e.key == "reconnecting_notification"
    ]


async def test_nothing_listening_retries_per_policy(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        params = lab_params(
            kamailio, "frank", recorder, ws_url=closed_port_url(), reconnect_max_attempts=2
        )
        account = await engine.register(params)
        error = await recorder.wait_for("server_not_reachable", timeout=5)
        assert error.message == "Could not reach the server."
        await recorder.wait_for("reconnecting_notification", count=2, timeout=8)
        await trio.sleep(2.5)  # a third attempt would be due by now
        assert recorder.keys == [
            "server_not_reachable",
            "reconnecting_notification",
            "reconnecting_notification",
        ]
        assert _attempts(recorder) == [1, 2]
        assert account.state is AccountState.DOWN
        assert account.statistics().connect_failures == 3


async def test_max_attempts_zero_never_reconnects(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(
            lab_params(kamailio, "gina", recorder, reconnect_max_attempts=0)
        )
        await recorder.wait_for("connected")
        kamailio.kill()
        await recorder.wait_for("disconnected", timeout=5)
        await trio.sleep(3)
        assert recorder.keys == ["connected", "disconnected"]
        assert account.state is AccountState.DOWN


async def test_max_attempts_three_after_the_server_died(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(
            lab_params(kamailio, "hank", recorder, reconnect_max_attempts=3)
        )
        await recorder.wait_for("connected")
        kamailio.kill()
        await recorder.wait_for("reconnecting_notification", count=3, timeout=10)
        await trio.sleep(2.5)
        assert recorder.keys == ["connected", "disconnected"] + ["reconnecting_notification"] * 3
        assert _attempts(recorder) == [1, 2, 3]
        assert account.state is AccountState.DOWN


async def test_killed_server_then_back_registers_again(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "ivan", recorder))
        await recorder.wait_for("connected")
        kamailio.kill()
        error = await recorder.wait_for("disconnected", timeout=5)
        assert error.message == "You have been disconnected."
        await recorder.wait_for("reconnecting_notification", count=1, timeout=5)
        kamailio.start()
        await recorder.wait_for("connected", count=2, timeout=10)
        assert account.state is AccountState.REGISTERED
        assert recorder.keys[:3] == ["connected", "disconnected", "reconnecting_notification"]
        assert recorder.count("disconnected") == 1
        assert recorder.keys[-1] == "connected"
        # Reconnected: the count starts again from 1 on the next loss.
        kamailio.kill()
        await recorder.wait_for("disconnected", count=2, timeout=5)
        first = await recorder.wait_for(
            "reconnecting_notification", count=len(_attempts(recorder)) + 1, timeout=5
        )
        assert isinstance(first, Notification) and first.attempt == 1


async def test_reconnect_now_and_auto_reconnect_switches(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "judy", recorder))
        await recorder.wait_for("connected")
        account.reconnect()
        await recorder.wait_for("reconnecting_notification")
        await recorder.wait_for("connected", count=2)
        assert "disconnected" not in recorder.keys

        account.stop_auto_reconnect()
        kamailio.kill()
        await recorder.wait_for("disconnected", timeout=5)
        await trio.sleep(2.5)
        assert recorder.count("reconnecting_notification") == 1
        assert account.state is AccountState.DOWN
        kamailio.start()
        account.start_auto_reconnect()
        await recorder.wait_for("connected", count=3, timeout=10)
        await account.logout()


async def test_frozen_server_is_detected_by_keepalive(kamailio: KamailioServer) -> None:
    """SIGSTOP leaves the TCP connection open but silent: only the pong deadline sees it."""
    recorder = Recorder()
    async with open_engine(pong_timeout=1.0) as engine:
        account = await engine.register(
            lab_params(kamailio, "olga", recorder, keepalive_interval=1.0)
        )
        await recorder.wait_for("connected")
        assert kamailio.pid is not None
        os.killpg(kamailio.pid, signal.SIGSTOP)
        try:
            stopped_at = trio.current_time()
            await recorder.wait_for("disconnected", timeout=5)
            # interval + pong timeout, each rounded up to the keep-alive wheel's 1 s slots
            assert trio.current_time() - stopped_at < 1.0 + 1.0 + 2 * 1.0 + 0.5
        finally:
            os.killpg(kamailio.pid, signal.SIGCONT)
        await recorder.wait_for("connected", count=2, timeout=10)
        assert account.state is AccountState.REGISTERED
        assert account.statistics().malformed_dropped == 0
