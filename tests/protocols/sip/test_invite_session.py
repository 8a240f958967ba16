"""The INVITE usage: both roles talking to each other through bytes (invite_pair.Pair)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from invite_pair import (
    ANSWER,
    OFFER,
    Pair,
    make_callee,
    make_caller,
    of_type,
    replies,
    requests,
    wire,
)
from sipmessage import Request, Response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.digest import DigestClient, DigestCredentials
from protocols.sip.digest_verifier import DigestVerifier, Verdict
from protocols.sip.errors import LocalProtocolError
from protocols.sip.invite_session import (
    T2,
    Answered,
    Confirmed,
    DtmfReceived,
    Ended,
    InfoIgnored,
    InfoResult,
    Outcome,
    Progress,
    RemoteDirection,
    SessionState,
)
from protocols.sip.message import parse_message
from protocols.sip.replies import response_to
from protocols.sip.transaction_requests import build_cancel


def ended(outputs: Sequence[object]) -> Ended:
    (end,) = of_type(outputs, Ended)
    assert isinstance(end, Ended)
    return end


def test_outgoing_invite_carries_offer_contact_and_display_name() -> None:
    caller = make_caller()
    (invite,) = requests(caller.start(), "INVITE")
    parsed = wire(invite)
    assert isinstance(parsed, Request)
    assert str(parsed.uri) == "sip:bob@example.com"
    assert parsed.from_address.name == "Alice Smith"
    assert parsed.from_address.parameters.get("tag")
    assert "tag" not in parsed.to_address.parameters
    assert parsed.headers.get("Content-Type") == "application/sdp"
    assert parsed.body.decode() == OFFER
    assert parsed.headers.get("Contact") == "<sip:alice@alice.invalid;transport=ws>"
    assert parsed.via[0].transport == "WS"
    assert (parsed.via[0].parameters["branch"] or "").startswith("z9hG4bK")
    assert caller.state is SessionState.CALLING


def test_not_a_sip_target_is_refused() -> None:
    with pytest.raises(ValueError):
        make_caller(target="mailto:bob@example.com")


def test_ring_accept_ack_confirms_both_sides() -> None:
    pair = Pair()
    assert pair.callee_start == [StartTimer(name="answer", seconds=60.0)]
    progress = pair.to_caller(pair.callee.ring())
    assert progress == [Progress(code=180, reason="Ringing", sdp=None)]
    assert pair.caller.state is SessionState.PROCEEDING
    accept = pair.callee.accept(ANSWER)
    assert CancelTimer(name="answer") in accept
    assert not [o for o in accept if isinstance(o, StartTimer) and o.name == "2xx"]
    back = pair.to_caller(accept)
    assert [r.method for r in requests(back)] == ["ACK"]
    assert Answered(sdp=ANSWER) in back
    # mypy keeps the PROCEEDING narrowing across the calls above that change the state.
    assert pair.caller.state is SessionState.CONFIRMED  # type: ignore[comparison-overlap]
    assert pair.caller.remote_sdp == ANSWER
    confirmed = pair.to_callee(back)
    assert Confirmed() in confirmed
    assert pair.callee.state is SessionState.CONFIRMED
    assert pair.callee.remote_sdp == OFFER


def test_early_media_183_carries_sdp() -> None:
    pair = Pair()
    response = response_to(
        pair.callee.invite,
        183,
        to_tag="early",
        body=ANSWER.encode(),
        content_type="application/sdp",
    )
    response.headers.add("Contact", "<sip:bob@bob.invalid;transport=ws>")
    out = pair.caller.receive_response(wire(response))
    assert out == [Progress(code=183, reason="Session Progress", sdp=ANSWER)]
    assert pair.caller.dialog is not None


def test_proxy_challenge_is_answered_once_with_a_new_cseq() -> None:
    verifier = DigestVerifier("example.com", {"alice": "secret"}, proxy=True, rng=random.Random(3))
    digest = DigestClient(DigestCredentials("alice", "secret"), random.Random(4))
    caller = make_caller(digest=digest)
    (first,) = requests(caller.start(), "INVITE")
    out = caller.receive_response(wire(verifier.challenge(first, to_tag="proxy")))
    (second,) = requests(out, "INVITE")
    assert verifier.check(wire(second)) is Verdict.ACCEPTED
    assert second.cseq.sequence == first.cseq.sequence + 1
    assert second.via[0].parameters["branch"] != first.via[0].parameters["branch"]
    assert second.headers.get("Call-ID") == first.headers.get("Call-ID")
    assert second.from_address.parameters["tag"] == first.from_address.parameters["tag"]
    assert caller.state is SessionState.CALLING
    # A late response to the first INVITE is stale and ignored.
    assert caller.receive_response(wire(response_to(first, 180, to_tag="x"))) == []
    # Challenged again with a fresh nonce: the credentials were refused.
    out = caller.receive_response(wire(verifier.challenge(second, to_tag="proxy")))
    assert requests(out) == []
    assert ended(out).outcome is Outcome.REJECTED
    assert ended(out).code == 407


def test_challenge_without_credentials_is_a_rejection() -> None:
    verifier = DigestVerifier("example.com", {}, proxy=True)
    caller = make_caller()
    (invite,) = requests(caller.start(), "INVITE")
    out = caller.receive_response(verifier.challenge(invite, to_tag="p"))
    assert ended(out) == Ended(
        outcome=Outcome.REJECTED, code=407, reason="Proxy Authentication Required", by="remote"
    )


def test_reject_defaults_to_busy_here() -> None:
    pair = Pair()
    out = pair.callee.reject()
    assert ended(out) == Ended(outcome=Outcome.REJECTED, code=486, reason="Busy Here", by="local")
    back = pair.to_caller(out)
    assert ended(back) == Ended(outcome=Outcome.REJECTED, code=486, reason="Busy Here", by="remote")
    assert pair.caller.terminated and pair.callee.terminated
    with pytest.raises(ValueError):
        Pair().callee.reject(200)


def test_cancel_waits_for_a_provisional_response() -> None:
    pair = Pair()
    out = pair.caller.cancel()
    assert requests(out) == []
    assert StartTimer(name="cancel", seconds=32.0) in out
    assert pair.caller.state is SessionState.CANCELLING
    back = pair.to_caller(pair.callee.ring())
    (cancel,) = requests(back, "CANCEL")
    assert not of_type(back, Progress)
    assert cancel.via[0].parameters["branch"] == pair.caller.invite.via[0].parameters["branch"]
    assert pair.callee.is_cancel_for_us(wire(cancel))
    at_callee = pair.to_callee(back)
    codes = sorted(r.response.code for r in replies(at_callee))
    assert codes == [200, 487]
    assert ended(at_callee) == Ended(
        outcome=Outcome.CANCELLED, code=487, reason="Request Terminated", by="remote"
    )
    final = [r for r in replies(at_callee) if r.response.code == 487]
    at_caller = pair.to_caller(final)
    assert ended(at_caller).outcome is Outcome.CANCELLED
    assert ended(at_caller).by == "local"


def test_cancel_racing_with_the_answer_ends_with_ack_and_bye() -> None:
    pair = Pair()
    pair.to_caller(pair.callee.ring())
    cancel_out = pair.caller.cancel()
    (cancel,) = requests(cancel_out, "CANCEL")
    accept = pair.callee.accept(ANSWER)  # the 200 crosses the CANCEL
    back = pair.to_caller(accept)
    assert [r.method for r in requests(back)] == ["ACK", "BYE"]
    assert not of_type(back, Answered)
    assert pair.caller.state is SessionState.ENDING
    # The CANCEL reaches the callee after its 200: answered 200, nothing else.
    late = pair.to_callee(cancel_out)
    assert [r.response.code for r in replies(late)] == [200]
    assert not of_type(late, Ended)
    at_callee = pair.to_callee(back)
    assert Confirmed() in at_callee
    assert ended(at_callee).outcome is Outcome.HUNG_UP
    at_caller = pair.to_caller(at_callee)
    assert ended(at_caller) == Ended(
        outcome=Outcome.CANCELLED, code=487, reason="Request Terminated", by="local"
    )
    assert cancel.method == "CANCEL"


def test_cancel_with_no_final_response_gives_up_after_64_t1() -> None:
    caller = make_caller()
    caller.start()
    caller.cancel()
    out = caller.timer_fired("cancel")
    assert ended(out).outcome is Outcome.CANCELLED
    assert caller.terminated


@pytest.mark.parametrize("who", ["caller", "callee"])
def test_bye_either_way(who: str) -> None:
    pair = Pair()
    pair.answered()
    if who == "caller":
        out = pair.caller.bye()
        there = pair.to_callee(out)
        back = pair.to_caller(there)
    else:
        out = pair.callee.bye()
        there = pair.to_caller(out)
        back = pair.to_callee(there)
    assert ended(there) == Ended(outcome=Outcome.HUNG_UP, code=200, reason="OK", by="remote")
    assert ended(back) == Ended(outcome=Outcome.HUNG_UP, code=200, reason="OK", by="local")
    assert pair.caller.terminated and pair.callee.terminated
    # A second BYE for the finished dialog gets 481.
    stray = pair.caller.dialog
    assert stray is not None
    assert replies(pair.callee.receive_request(wire(_bye_like(out))))[0].response.code == 481


def _bye_like(outputs: Sequence[object]) -> Request:
    (bye,) = requests(outputs, "BYE")
    return bye


def test_bye_failure_still_ends_the_call() -> None:
    pair = Pair()
    pair.answered()
    (bye,) = requests(pair.caller.bye())
    out = pair.caller.request_failed(bye, 408, "timed out")
    assert ended(out).outcome is Outcome.HUNG_UP
    assert pair.caller.terminated


def test_retransmitted_2xx_is_acked_again_and_a_second_fork_is_hung_up() -> None:
    pair = Pair()
    pair.to_caller(pair.callee.ring())
    accept = pair.callee.accept(ANSWER)
    pair.to_caller(accept)
    again = pair.to_caller(accept)
    assert [r.method for r in requests(again)] == ["ACK"]
    assert not of_type(again, Answered)
    fork = response_to(
        pair.caller.invite,
        200,
        to_tag="fork2",
        body=ANSWER.encode(),
        content_type="application/sdp",
    )
    fork.headers.add("Contact", "<sip:bob@fork.invalid;transport=ws>")
    out = pair.caller.receive_response(wire(fork))
    ack, bye = requests(out)
    assert (ack.method, bye.method) == ("ACK", "BYE")
    assert bye.to_address.parameters["tag"] == "fork2"
    assert str(bye.uri) == "sip:bob@fork.invalid;transport=ws"
    assert pair.caller.state is SessionState.CONFIRMED


def test_2xx_is_retransmitted_until_ack_on_unreliable_transport_only() -> None:
    caller = make_caller()
    (invite,) = requests(caller.start())
    callee = make_callee(invite, reliable=False)
    callee.start()
    out = callee.accept(ANSWER)
    assert StartTimer(name="2xx", seconds=0.5) in out
    intervals = []
    for _ in range(5):
        again = callee.timer_fired("2xx")
        assert [r.response.code for r in replies(again)] == [200]
        (timer,) = of_type(again, StartTimer)
        intervals.append(timer.seconds)
    assert intervals == [1.0, 2.0, T2, T2, T2]
    acks = requests(caller.receive_response(wire(replies(out)[0].response)), "ACK")
    confirmed = callee.receive_request(wire(acks[0]))
    assert CancelTimer(name="2xx") in confirmed
    assert callee.timer_fired("2xx") == []


def test_no_ack_ends_the_call_with_bye() -> None:
    pair = Pair()
    pair.callee.accept(ANSWER)
    out = pair.callee.timer_fired("ack")
    (bye,) = requests(out, "BYE")
    done = pair.callee.receive_response(wire(response_to(bye, 200)))
    assert ended(done) == Ended(
        outcome=Outcome.FAILED, code=408, reason="No ACK for the 2xx", by="local"
    )


def test_hangup_before_ack_waits_for_the_ack() -> None:
    pair = Pair()
    accept = pair.callee.accept(ANSWER)
    assert pair.callee.hangup() == []
    back = pair.to_caller(accept)
    at_callee = pair.to_callee(back)
    assert Confirmed() in at_callee
    assert [r.method for r in requests(at_callee)] == ["BYE"]


def test_unanswered_incoming_call_times_out_with_480() -> None:
    pair = Pair()
    pair.callee.ring()
    out = pair.callee.timer_fired("answer")
    assert [r.response.code for r in replies(out)] == [480]
    assert ended(out).outcome is Outcome.UNANSWERED
    back = pair.to_caller(out)
    assert ended(back).outcome is Outcome.REJECTED
    assert ended(back).code == 480


def test_hold_and_resume_by_reinvite_and_session_refresh_by_update() -> None:
    pair = Pair()
    pair.answered()
    far = pair.callee.dialog
    assert far is not None
    hold = far.create_request(
        "INVITE", OFFER.replace("sendrecv", "sendonly").encode(), "application/sdp"
    )
    out = pair.caller.receive_request(wire(hold))
    (reply,) = replies(out)
    assert reply.response.code == 200
    assert "a=recvonly" in reply.response.body.decode()
    assert reply.response.headers.get("Contact")
    assert RemoteDirection(direction="sendonly", on_hold=True) in out
    inactive = far.create_request(
        "UPDATE", OFFER.replace("sendrecv", "inactive").encode(), "application/sdp"
    )
    out = pair.caller.receive_request(wire(inactive))
    assert "a=inactive" in replies(out)[0].response.body.decode()
    resume = far.create_request("INVITE", OFFER.encode(), "application/sdp")
    out = pair.caller.receive_request(wire(resume))
    assert "a=sendrecv" in replies(out)[0].response.body.decode()
    assert RemoteDirection(direction="sendrecv", on_hold=False) in out
    refresh = far.create_request("UPDATE")
    out = pair.caller.receive_request(wire(refresh))
    assert [r.response.code for r in replies(out)] == [200]
    assert not of_type(out, RemoteDirection)
    no_offer = far.create_request("INVITE")
    out = pair.caller.receive_request(wire(no_offer))
    assert replies(out)[0].response.body.decode() == OFFER
    video_only = far.create_request("INVITE", b"v=0\r\nm=video 1 RTP/AVP 96\r\n", "application/sdp")
    out = pair.caller.receive_request(wire(video_only))
    assert [r.response.code for r in replies(out)] == [488]
    assert pair.caller.state is SessionState.CONFIRMED


def test_reinvite_before_the_call_is_up_gets_491() -> None:
    pair = Pair()
    (ok,) = replies(pair.callee.accept(ANSWER))
    # The caller's view of the dialog, before its ACK reaches the callee.
    pair.to_caller([ok])
    early = pair.caller.dialog
    assert early is not None
    reinvite = early.create_request("INVITE", OFFER.encode(), "application/sdp")
    out = pair.callee.receive_request(wire(reinvite))
    assert [r.response.code for r in replies(out)] == [491]


def test_dtmf_by_info_both_ways() -> None:
    pair = Pair()
    pair.answered()
    for sender, receive in ((pair.caller, pair.to_callee), (pair.callee, pair.to_caller)):
        out = sender.send_dtmf_info("#")
        (info,) = requests(out, "INFO")
        assert info.headers.get("Content-Type") == "application/dtmf-relay"
        at_far = receive(out)
        assert DtmfReceived(digit="#", duration_ms=160) in at_far
        assert [r.response.code for r in replies(at_far)] == [200]
        result = sender.receive_response(wire(replies(at_far)[0].response))
        assert result == [InfoResult(code=200, reason="OK")]
    with pytest.raises(ValueError):
        pair.caller.send_dtmf_info("E")


def test_malformed_info_body_is_answered_and_ignored() -> None:
    pair = Pair()
    pair.answered()
    far = pair.callee.dialog
    assert far is not None
    bad = far.create_request("INFO", b"Signal=?\r\n", "application/dtmf-relay")
    out = pair.caller.receive_request(wire(bad))
    assert [r.response.code for r in replies(out)] == [200]
    assert of_type(out, InfoIgnored)
    assert not of_type(out, DtmfReceived)


def test_in_dialog_request_out_of_order_gets_500() -> None:
    pair = Pair()
    pair.answered()
    far = pair.callee.dialog
    assert far is not None
    first = far.create_request("INFO", b"Signal=1\r\n", "application/dtmf-relay")
    second = far.create_request("INFO", b"Signal=2\r\n", "application/dtmf-relay")
    pair.caller.receive_request(wire(second))
    out = pair.caller.receive_request(wire(first))
    assert [r.response.code for r in replies(out)] == [500]


def test_local_calls_in_the_wrong_state_raise() -> None:
    pair = Pair()
    with pytest.raises(LocalProtocolError, match="accept"):
        pair.caller.accept(ANSWER)
    with pytest.raises(LocalProtocolError, match="cancel"):
        pair.callee.cancel()
    with pytest.raises(LocalProtocolError, match="bye"):
        pair.caller.bye()
    with pytest.raises(LocalProtocolError):
        pair.caller.send_dtmf_info("1")
    pair.answered()
    with pytest.raises(LocalProtocolError, match="cancel in state confirmed"):
        pair.caller.cancel()
    with pytest.raises(LocalProtocolError, match="ring"):
        pair.callee.ring()


def test_invite_timeout_and_transport_failure_end_the_attempt() -> None:
    caller = make_caller()
    caller.start()
    out = caller.request_failed(caller.invite, 408, "timed out")
    assert ended(out) == Ended(outcome=Outcome.FAILED, code=408, reason="timed out", by="local")
    pair = Pair()
    pair.answered()
    out = pair.callee.transport_failed()
    assert ended(out).outcome is Outcome.FAILED
    assert pair.callee.transport_failed() == []


def test_hangup_picks_cancel_decline_or_bye() -> None:
    pair = Pair()
    pair.to_caller(pair.callee.ring())
    assert [r.method for r in requests(pair.caller.hangup())] == ["CANCEL"]
    pair = Pair()
    out = pair.callee.hangup()
    assert [r.response.code for r in replies(out)] == [603]
    pair = Pair()
    pair.answered()
    assert [r.method for r in requests(pair.caller.hangup())] == ["BYE"]
    assert pair.caller.hangup() == []


def test_bye_on_the_early_dialog_ends_the_ringing_call() -> None:
    pair = Pair()
    pair.to_caller(pair.callee.ring())
    early = pair.caller.dialog
    assert early is not None
    bye = early.create_request("BYE")
    out = pair.callee.receive_request(wire(bye))
    assert sorted(r.response.code for r in replies(out)) == [200, 487]
    assert ended(out).outcome is Outcome.CANCELLED


def test_the_early_dialog_is_the_first_tagged_1xx_and_matches_the_confirmed_one() -> None:
    pair = Pair()
    untagged = response_to(pair.callee.invite, 180)  # no To tag: no dialog (s.12.1)
    pair.caller.receive_response(wire(untagged))
    (ringing,) = replies(pair.callee.ring())
    pair.caller.receive_response(wire(ringing.response))
    early = pair.caller.dialog
    assert early is not None and early.state.value == "early"
    assert pair.callee.dialog is not None
    assert early.remote_tag == pair.callee.dialog.local_tag
    # A dialog built from the 2xx alone (no early one used) is the same dialog.
    alone = Pair()
    alone.to_caller(alone.callee.ring())
    alone.to_caller(alone.callee.accept(ANSWER))
    confirmed = alone.caller.dialog
    assert confirmed is not None and confirmed.state.value == "confirmed"
    assert confirmed.local_uri == early.local_uri
    assert confirmed.local_contact == early.local_contact
    assert str(confirmed.local_contact) == "<sip:alice@alice.invalid;transport=ws>"
    assert confirmed.remote_target == early.remote_target


def test_responses_to_unknown_requests_are_ignored() -> None:
    pair = Pair()
    pair.answered()
    far = pair.callee.dialog
    assert far is not None
    options = far.create_request("OPTIONS")
    assert replies(pair.caller.receive_request(wire(options)))[0].response.code == 200
    message = far.create_request("MESSAGE", b"hi", "text/plain")
    assert replies(pair.caller.receive_request(wire(message)))[0].response.code == 501
    stray: Response = response_to(options, 200)
    assert pair.caller.receive_response(stray) == []
    assert isinstance(Send(message=options), Send)


def test_dialog_creating_responses_carry_the_record_route() -> None:
    from invite_pair import ALICE_VIA

    caller = make_caller()
    (invite,) = requests(caller.start())
    invite.headers.add("Record-Route", "<sip:p1.example.com;lr>")
    invite.headers.add("Record-Route", "<sip:p2.example.com;lr>")
    callee = make_callee(invite)
    callee.start()
    (ringing,) = replies(callee.ring())
    (ok,) = replies(callee.accept(ANSWER))
    for response in (ringing.response, ok.response):
        assert response.headers.getlist("Record-Route") == [
            "<sip:p1.example.com;lr>",
            "<sip:p2.example.com;lr>",
        ]
    caller.receive_response(wire(ringing.response))
    out = caller.receive_response(wire(ok.response))
    (ack,) = requests(out, "ACK")
    assert ack.headers.getlist("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert ALICE_VIA.host in ack.headers["Via"]


def test_request_with_the_right_call_id_but_other_tags_gets_481() -> None:
    pair = Pair()
    pair.answered()
    far = pair.callee.dialog
    assert far is not None
    bye = far.create_request("BYE")
    stranger = parse_message(bytes(bye).replace(far.local_tag.encode(), b"someoneelse"))
    assert isinstance(stranger, Request)
    assert stranger.from_address.parameters["tag"] == "someoneelse"
    out = pair.caller.receive_request(stranger)
    assert [r.response.code for r in replies(out)] == [481]
    assert pair.caller.state is SessionState.CONFIRMED
    assert not pair.caller.owns(stranger)


def test_a_later_call_reuses_the_nonce_and_skips_the_challenge() -> None:
    verifier = DigestVerifier("example.com", {"alice": "secret"}, proxy=True, rng=random.Random(5))
    digest = DigestClient(DigestCredentials("alice", "secret"), random.Random(6))
    first = make_caller(digest=digest)
    (invite,) = requests(first.start(), "INVITE")
    assert invite.headers.get("Proxy-Authorization") is None
    first.receive_response(wire(verifier.challenge(invite, to_tag="p")))
    second = make_caller(seed=9, digest=digest)
    (again,) = requests(second.start(), "INVITE")
    assert verifier.check(wire(again)) is Verdict.ACCEPTED


def test_cancel_for_another_invite_of_the_call_id_gets_481() -> None:
    pair = Pair()
    pair.callee.ring()
    stray = parse_message(
        bytes(build_cancel(pair.caller.invite)).replace(b"branch=z9hG4bK", b"branch=z9hG4bKx")
    )
    assert isinstance(stray, Request)
    out = pair.callee.receive_request(stray)
    assert [r.response.code for r in replies(out)] == [481]
    assert pair.callee.state is SessionState.RINGING
    assert [r.response.code for r in replies(pair.caller.receive_request(stray))] == [481]
