"""Registration against a real Kamailio: register, refresh, logout, refused credentials, 403."""

from __future__ import annotations

import pytest
import trio
from engine_recorder import Recorder, lab_params

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.events import Error
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.notify_injection import inject_notify

pytestmark = pytest.mark.kamailio


async def _notify_code(server: KamailioServer, user: str) -> int:
    return await trio.to_thread.run_sync(
        lambda: inject_notify(
            server.udp_address, user, server.realm, event="keep-alive", content_type=None
        )
    )


async def test_register_refresh_and_logout(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "alice", recorder, expires=10))
        connected = await recorder.wait_for("connected")
        assert connected.as_dict() == {
            "account": account.id,
            "expires": 10,
            "key": "connected",
            "message": "Registered.",
        }
        assert account.state is AccountState.REGISTERED
        # The registrar routes to us: a NOTIFY through Kamailio reaches the account.
        assert await _notify_code(kamailio, "alice") == 200
        # Refresh lands between 50 % and 85 % of the 10 s expiry, and must keep us bound
        # past the original expiry.
        sent_before = account.statistics().messages_sent
        await trio.sleep(11)
        assert account.statistics().messages_sent > sent_before
        assert account.state is AccountState.REGISTERED
        assert recorder.count("connected") == 1
        assert await _notify_code(kamailio, "alice") == 200

        await account.logout()
        assert account.statistics().state == "logged out"
        assert await _notify_code(kamailio, "alice") == 404
    assert recorder.keys.count("connected") == 1
    assert "disconnected" not in recorder.keys


async def test_a_realm_whose_top_label_ends_in_a_digit_registers(
    kamailio: KamailioServer,
) -> None:
    # "pbx1" is a valid host name (RFC 3261 s.25.1) that sipmessage's URI.parse refused.
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "dave", recorder, realm="pbx1"))
        await recorder.wait_for("connected")
        assert account.state is AccountState.REGISTERED
        await account.logout()
        assert account.statistics().state == "logged out"
    assert recorder.keys == ["connected"]


async def test_events_iterator_sees_connected_and_logged_out(kamailio: KamailioServer) -> None:
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "bob"))
        keys = []
        with trio.fail_after(10):
            async for event in account.events():
                keys.append(event.key)
                if event.key == "connected":
                    await account.logout()
        assert keys == ["connected", "logged_out"]


async def test_wrong_password_is_unauthorized_and_not_retried(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "carol", recorder, password="nope"))
        error = await recorder.wait_for("unauthorized")
        assert error.message == "Invalid credentials."
        await trio.sleep(3)  # longer than the first reconnect delay
        assert recorder.keys == ["unauthorized"]
        assert account.state is AccountState.DOWN
        stats = account.statistics()
        assert stats.reconnect_attempts == 0
        assert stats.messages_sent == 2  # REGISTER, then once with the refused credentials


async def test_forbidden_user_gets_forbidden(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "forbidden7", recorder))
        error = await recorder.wait_for("forbidden")
        assert isinstance(error, Error)
        assert (error.message, error.code) == ("Forbidden.", 403)
        await trio.sleep(3)
        assert recorder.keys == ["forbidden"]
        assert account.state is AccountState.DOWN


async def test_raising_callback_is_contained(kamailio: KamailioServer) -> None:
    calm = Recorder()
    angry_calls = []

    def angry(event: object) -> None:
        angry_calls.append(event)
        raise RuntimeError("a program bug")

    async with open_engine() as engine:
        hot = await engine.register(
            lab_params(kamailio, "dave", on_connected=angry, on_notified=angry)
        )
        cool = await engine.register(lab_params(kamailio, "erin", calm))
        await calm.wait_for("connected")
        with trio.fail_after(10):
            while not angry_calls:
                await trio.sleep(0.05)
        assert await _notify_code(kamailio, "dave") == 200  # on_notified raises again
        assert hot.state is AccountState.REGISTERED
        assert cool.state is AccountState.REGISTERED
        assert len(angry_calls) == 2
        assert engine.statistics().supervisor.failures == 0
        await hot.logout()
        await cool.logout()
