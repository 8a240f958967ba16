"""Out-of-dialog NOTIFYs injected through Kamailio become the seed's notifications."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from engine_recorder import Recorder, lab_params

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.notify_injection import inject_notify

pytestmark = pytest.mark.kamailio


async def _inject(server: KamailioServer, user: str, **kwargs: Any) -> int:
    return await trio.to_thread.run_sync(
        lambda: inject_notify(server.udp_address, user, server.realm, **kwargs)
    )


async def test_overwrite_voicemail_and_unknown_notifications(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "kim", recorder))
        await recorder.wait_for("connected")

        code = await _inject(
            kamailio,
            "kim",
            event="registration-overwrite",
            content_type="text/plain",
            body="Overwrote:<sip:kim@10.0.0.9:5060;transport=ws>",
        )
        assert code == 200
        overwrite = await recorder.wait_for("overriding_registration")
        assert overwrite.as_dict() == {
            "key": "overriding_registration",
            "message": "You have overridden an existing registration for this device.",
            "account": account.id,
            "contact": "<sip:kim@10.0.0.9:5060;transport=ws>",
        }

        summary = (
            "Messages-Waiting: yes\r\nMessage-Account: sip:*97@kazoo.test\r\n"
            "Voice-Message: 2/8 (1/3)\r\n"
        )
        code = await _inject(
            kamailio,
            "kim",
            event="message-summary",
            content_type="application/simple-message-summary",
            body=summary,
        )
        assert code == 200
        voicemail = (await recorder.wait_for("voicemail_notification")).as_dict()
        assert voicemail == {
            "key": "voicemail_notification",
            "message": "You have one or more voicemail message(s).",
            "account": account.id,
            "messages_waiting": True,
            "message_account": "sip:*97@kazoo.test",
            "new_messages": 2,
            "old_messages": 8,
            "urgent_new_messages": 1,
            "urgent_old_messages": 3,
        }

        code = await _inject(
            kamailio, "kim", event="check-sync", content_type="text/plain", body="x"
        )
        assert code == 200
        await recorder.wait_for("unknown_notification")
        # A malformed body of a known package is still answered 200, reported as unknown.
        code = await _inject(
            kamailio,
            "kim",
            event="message-summary",
            content_type="application/simple-message-summary",
            body="Voice-Message: lots\r\n",
        )
        assert code == 200
        await recorder.wait_for("unknown_notification", count=2)
        assert account.state is AccountState.REGISTERED


async def test_replaced_registration_stays_down_until_reconnect(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        account = await engine.register(lab_params(kamailio, "lou", recorder))
        await recorder.wait_for("connected")
        code = await _inject(
            kamailio,
            "lou",
            event="registration-overwrite",
            content_type="text/plain",
            body="Replaced-By:<sip:lou@10.0.0.7;transport=ws>",
        )
        assert code == 200
        replaced = await recorder.wait_for("replaced_registration")
        assert replaced.message == (
            "You have been disconnected: someone else has registered this device."
        )
        await trio.sleep(3)  # past the first automatic attempt, had there been one
        assert recorder.keys == ["connected", "replaced_registration"]
        assert account.state is AccountState.DOWN

        account.reconnect()
        await recorder.wait_for("connected", count=2)
        assert recorder.keys[-2:] == ["reconnecting_notification", "connected"]
        await account.logout()
