"""``subscribe_voicemail=True``: the account SUBSCRIBEs to its own message-summary."""

from __future__ import annotations

import pytest
import trio
from engine_recorder import Recorder, lab_params

from kazoo_actors.engine import open_engine
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.message_summary_body import VoicemailCounts
from kazoo_actors.lab.mwi_notifier import MwiNotifier

pytestmark = pytest.mark.kamailio


async def test_subscription_reports_counts_refreshes_and_unsubscribes_on_logout(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    mwi_notifier.set_counts("vera", VoicemailCounts(new=2, old=5))
    recorder = Recorder()
    with trio.fail_after(20):
        async with open_engine() as engine:
            account = await engine.register(
                lab_params(kamailio_with_mwi, "vera", recorder, subscribe_voicemail=True)
            )
            await recorder.wait_for("connected")
            first = (await recorder.wait_for("voicemail_notification")).as_dict()
            assert first["messages_waiting"] is True
            assert (first["new_messages"], first["old_messages"]) == (2, 5)
            assert first["account"] == account.id
            assert len(mwi_notifier.subscriptions("vera")) == 1

            assert await mwi_notifier.notify("vera", new=3, old=1, urgent_new=1) == [200]
            later = (await recorder.wait_for("voicemail_notification", count=2)).as_dict()
            assert (later["new_messages"], later["old_messages"]) == (3, 1)
            assert later["urgent_new_messages"] == 1

            await account.logout()
            await mwi_notifier.wait_for(lambda: not mwi_notifier.subscriptions("vera"))
            unsubscribe = mwi_notifier.requests("SUBSCRIBE")[-1]
            assert unsubscribe.headers.get("Expires") == "0"


async def test_notifier_ending_the_subscription_gets_a_new_one(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    recorder = Recorder()
    with trio.fail_after(20):
        async with open_engine() as engine:
            await engine.register(
                lab_params(kamailio_with_mwi, "walt", recorder, subscribe_voicemail=True)
            )
            await mwi_notifier.wait_for(lambda: bool(mwi_notifier.subscriptions("walt")))
            first_call_id = mwi_notifier.subscriptions("walt")[0].dialog.call_id
            assert await mwi_notifier.terminate("walt", "deactivated") == [200]
            await mwi_notifier.wait_for(
                lambda: any(
                    s.dialog.call_id != first_call_id for s in mwi_notifier.subscriptions("walt")
                )
            )


async def test_accounts_that_do_not_ask_do_not_subscribe(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    recorder = Recorder()
    with trio.fail_after(10):
        async with open_engine() as engine:
            account = await engine.register(lab_params(kamailio_with_mwi, "xena", recorder))
            await recorder.wait_for("connected")
            await account.logout()
    assert mwi_notifier.requests("SUBSCRIBE") == []
