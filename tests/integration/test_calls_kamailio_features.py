"""Calls through Kamailio: mute, RFC 4733 DTMF, blind transfer, several calls, bad input."""

from __future__ import annotations

import logging
import re

import pytest
import trio
from test_calls_kamailio import answered_call, heard, near, register, two_accounts

from kazoo_actors.actors.call import CallActor
from kazoo_actors.call import CallError
from kazoo_actors.call_events import CallCancel, CallHangup, DtmfReceived, TransferStatus
from kazoo_actors.engine import open_engine
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.notify_injection import build_request, send_request
from media.options import MediaOptions

pytestmark = pytest.mark.kamailio


async def test_mute_gives_silence_and_unmute_restores_the_tone(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(20):
            _call, incoming = await answered_call(alice, alice_events, bob_events)
            await trio.sleep(0.6)
            reading = incoming.probe()
            assert reading is not None and near(reading.frequency, 440.0)

            done: list[str] = []
            request = alice.mute_microphone(True, lambda: done.append("muted"))
            assert await request is True
            await trio.sleep(0.6)
            reading = incoming.probe()
            assert reading is not None and reading.silent, reading
            assert done == ["muted"]

            await alice.mute_microphone(False)
            await trio.sleep(0.6)
            reading = incoming.probe()
            assert reading is not None and near(reading.frequency, 440.0), reading
            assert alice_events.count("mute") == 2

            alice.hangup()
            await incoming.wait_ended()
            errors: list[Exception] = []
            with pytest.raises(CallError):
                await incoming.mute_microphone(True, on_error=errors.append)
            assert len(errors) == 1


async def test_rfc4733_dtmf_both_ways_in_order(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        alice.call_defaults.dtmf_method = "rfc4733"
        bob.call_defaults.dtmf_method = "rfc4733"
        with trio.fail_after(30):
            call, incoming = await answered_call(alice, alice_events, bob_events)
            await trio.sleep(0.3)
            for digit in "147*":
                call.send_dtmf(digit)
            for digit in "0#D":
                incoming.send_dtmf(digit)
            await bob_events.wait_for("dtmf", count=4)
            await alice_events.wait_for("dtmf", count=3)
        at_bob = [e for e in bob_events.events if isinstance(e, DtmfReceived)]
        at_alice = [e for e in alice_events.events if isinstance(e, DtmfReceived)]
        assert [(e.digit, e.method) for e in at_bob] == [(d, "rfc4733") for d in "147*"]
        assert [(e.digit, e.method) for e in at_alice] == [(d, "rfc4733") for d in "0#D"]


async def test_blind_transfer_connects_the_caller_to_the_target(
    kamailio: KamailioServer,
) -> None:
    async with (
        two_accounts(kamailio) as (alice, alice_events, bob, bob_events),
        open_engine() as engine,
        trio.open_nursery() as nursery,
    ):
        _carol, carol_events = await register(engine, nursery, kamailio, "carol", 660.0)
        with trio.fail_after(40):
            first = await alice.connect("bob")
            at_bob = await bob_events.next_incoming()
            at_bob.accept()
            await alice_events.wait_for("accepted")
            await bob_events.wait_for("accepted")

            bob.transfer("carol")
            at_carol = await carol_events.next_incoming()
            assert at_carol.caller_number == "alice"
            at_carol.accept()
            await carol_events.wait_for("accepted")
            succeeded = await bob_events.wait_for(
                "transfer", where=lambda e: e.stage == "succeeded"
            )
            assert isinstance(succeeded, TransferStatus)
            assert succeeded.target == f"sip:carol@{kamailio.realm}"
            assert ("on_transfer", "transfer") in bob_events.callbacks
            # Bob hangs up his leg once the transfer succeeded.
            await bob_events.wait_for("hangup")
            await first.wait_ended()
            second = alice.current_call
            assert second is not first and second.answered
            assert near(await heard(second), 660.0)
            assert near(await heard(at_carol), 440.0)
            stages = [e.stage for e in alice_events.events if isinstance(e, TransferStatus)]
            assert stages[0] == "requested" and stages[-1] == "succeeded"
            second.hangup()
            await at_carol.wait_ended()
        nursery.cancel_scope.cancel()


async def test_several_calls_at_once_and_current_call(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        with trio.fail_after(30):
            calls = [await alice.connect("bob") for _ in range(3)]
            incoming = [await bob_events.next_incoming() for _ in range(3)]
            assert len(alice.calls()) == 3 and len(bob.calls()) == 3
            incoming[1].accept()
            await alice_events.wait_for("accepted")
            # INVITEs may reach Bob in another order than Alice sent them: match by Call-ID.
            (answered,) = [call for call in calls if call.id == incoming[1].id]
            assert alice.current_call is answered
            for call in incoming:
                call.hangup()
            for call in calls:
                await call.wait_ended()
            assert alice.calls() == []
            cancels = [e for e in alice_events.events if isinstance(e, CallCancel)]
            assert sorted(e.code for e in cancels) == [603, 603]
            assert alice_events.count("hangup") == 1


async def test_cancel_racing_with_answer_ends_both_sides_once(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(30):
            for _ in range(3):
                call = await alice.connect("bob")
                incoming = await bob_events.next_incoming()
                incoming.accept()
                call.hangup()  # crosses the 200 on the wire, or follows it
                await call.wait_ended()
                await incoming.wait_ended()
            ends_alice = alice_events.count("cancel") + alice_events.count("hangup")
            ends_bob = bob_events.count("cancel") + bob_events.count("hangup")
            assert ends_alice == 3 and ends_bob == 3


async def test_unusable_offer_gets_488_and_the_account_stays_registered(
    kamailio: KamailioServer,
) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        bob.call_defaults.media_options = MediaOptions(host_addresses=["127.0.0.1"], codecs="opus")
        with trio.fail_after(20):
            await alice.connect(
                "bob", media_options=MediaOptions(host_addresses=["127.0.0.1"], codecs="PCMA")
            )
            cancel = await alice_events.wait_for("cancel")
            assert isinstance(cancel, CallCancel) and cancel.code == 488
        offer = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=video 4000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
        )
        request = build_request(
            "INVITE", "bob", kamailio.realm, body=offer.encode(), content_type="application/sdp"
        )
        reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, request))
        assert reply.code == 488
        assert bob.registered and bob_events.incoming == []


async def test_bye_for_an_unknown_dialog_gets_481(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (_alice, _ae, bob, _be):
        request = build_request("BYE", "bob", kamailio.realm, to_tag="nosuchdialog")
        reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, request))
        assert reply.code == 481
        assert bob.registered


async def test_malformed_info_body_is_ignored_with_a_log_line(
    kamailio: KamailioServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(20):
            call, incoming = await answered_call(alice, alice_events, bob_events)
        # An INFO inside the call's dialog, as if from Alice, with a body that is not dtmf-relay.
        bob_actor = incoming._task  # the test needs the dialog's tags
        assert isinstance(bob_actor, CallActor) and bob_actor.session is not None
        dialog = bob_actor.session.dialog
        assert dialog is not None and dialog.remote_seq is not None
        raw = build_request(
            "INFO",
            "bob",
            kamailio.realm,
            to_tag=dialog.local_tag,
            cseq=dialog.remote_seq + 10,
            body=b"Signal=banana\r\n",
            content_type="application/dtmf-relay",
        )
        raw = _into_dialog(raw, call.id, dialog.remote_tag)
        with caplog.at_level(logging.WARNING, logger="kazoo_actors.call"):
            reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, raw))
            await trio.sleep(0.2)
        assert reply.code == 200
        assert any("ignored an INFO" in r.getMessage() for r in caplog.records)
        assert bob_events.count("dtmf") == 0
        assert not incoming.ended


def _into_dialog(raw: bytes, call_id: str, from_tag: str) -> bytes:
    """An injected request made to look like the far end's: its Call-ID and From tag."""
    raw = re.sub(rb"Call-ID: [^\r]*", b"Call-ID: " + call_id.encode(), raw)
    return re.sub(rb"(From: [^\r]*;tag=)[^\r;]*", rb"\g<1>" + from_tag.encode(), raw)


async def test_hold_by_reinvite_through_the_proxy(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(20):
            call, incoming = await answered_call(alice, alice_events, bob_events)
        bob_actor = incoming._task  # the test needs the dialog's tags
        assert isinstance(bob_actor, CallActor) and bob_actor.session is not None
        dialog = bob_actor.session.dialog
        assert dialog is not None and dialog.remote_seq is not None
        offer = (
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n"
        )
        raw = build_request(
            "INVITE",
            "bob",
            kamailio.realm,
            to_tag=dialog.local_tag,
            cseq=dialog.remote_seq + 1,
            body=offer.encode(),
            content_type="application/sdp",
        )
        raw = _into_dialog(raw, call.id, dialog.remote_tag)
        reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, raw))
        assert reply.code == 200
        assert b"a=recvonly" in reply.raw
        hold = await bob_events.wait_for("remote_hold")
        assert hold.as_dict()["on_hold"] is True
        assert not incoming.ended
        # A request in the call's Call-ID but another dialog's tags is refused.
        stranger = build_request("BYE", "bob", kamailio.realm, to_tag="other", cseq=99)
        stranger = re.sub(rb"Call-ID: [^\r]*", b"Call-ID: " + call.id.encode(), stranger)
        reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, stranger))
        assert reply.code == 481
        assert not incoming.ended


async def test_unanswered_incoming_call_times_out_cleanly(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        bob.call_defaults.answer_timeout = 1.0
        with trio.fail_after(20):
            call = await alice.connect("bob")
            incoming = await bob_events.next_incoming()
            mine = await bob_events.wait_for("cancel")
            assert isinstance(mine, CallCancel) and mine.outcome == "unanswered"
            theirs = await alice_events.wait_for("cancel")
            assert isinstance(theirs, CallCancel) and theirs.code == 480
            await call.wait_ended()
            await incoming.wait_ended()
        assert bob.calls() == [] and bob.registered


async def test_logout_hangs_up_live_calls(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(20):
            await answered_call(alice, alice_events, bob_events)
            await alice.logout()
            theirs = await bob_events.wait_for("hangup")
            assert isinstance(theirs, CallHangup) and theirs.source == "remote"


async def test_signalling_only_calls_need_no_media_stack(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        alice.call_defaults.media = "none"
        bob.call_defaults.media = "none"
        with trio.fail_after(20):
            for number in range(1, 6):
                call = await alice.connect("bob")
                incoming = await bob_events.next_incoming()
                incoming.accept()
                await alice_events.wait_for("accepted", count=number)
                assert call.probe() is None and call.media_statistics() is None
                call.hangup()
                await incoming.wait_ended()
                # The account's event reader may run after the call task ended.
                await bob_events.wait_for("hangup", count=number)
            assert bob_events.count("hangup") == 5


async def test_server_crash_ends_calls_on_both_sides(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(30):
            call, incoming = await answered_call(alice, alice_events, bob_events)
            kamailio.kill()
            for events in (alice_events, bob_events):
                end = await events.wait_for("hangup", timeout=25)
                assert isinstance(end, CallHangup)
                assert (end.code, end.source) == (503, "system")
            await call.wait_ended()
            await incoming.wait_ended()
            assert alice.calls() == []
