"""Blind transfer: REFER out and its sipfrag NOTIFYs, REFER in and the NOTIFYs we send."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from invite_pair import Pair, of_type, replies, requests, wire
from sipmessage import Request

from protocols.sip.actions import CancelTimer, StartTimer
from protocols.sip.errors import ParseError
from protocols.sip.refer import (
    IncomingRefer,
    OutgoingRefer,
    ReferOutput,
    TransferAccepted,
    TransferFailed,
    TransferProgress,
    TransferSucceeded,
)


def answered_pair() -> Pair:
    pair = Pair()
    pair.answered()
    return pair


def start_transfer(pair: Pair) -> tuple[OutgoingRefer, IncomingRefer, list[ReferOutput]]:
    """Bob (callee) transfers Alice (caller) to Carol."""
    assert pair.callee.dialog is not None and pair.caller.dialog is not None
    refer = OutgoingRefer(
        pair.callee.dialog, target="sip:carol@example.com", referred_by="sip:bob@example.com"
    )
    out = refer.start()
    (request,) = requests(out, "REFER")
    assert StartTimer(name="refer", seconds=60.0) in out
    parsed = wire(request)
    assert isinstance(parsed, Request)
    incoming = IncomingRefer.from_request(pair.caller.dialog, parsed)
    return refer, incoming, incoming.accept()


def deliver_notifies(refer: OutgoingRefer, outputs: Sequence[object]) -> list[ReferOutput]:
    result: list[ReferOutput] = []
    for notify in requests(outputs, "NOTIFY"):
        parsed = wire(notify)
        assert isinstance(parsed, Request)
        result += refer.receive_notify(parsed)
    return result


def test_refer_carries_refer_to_and_referred_by() -> None:
    pair = answered_pair()
    _refer, incoming, accepted = start_transfer(pair)
    assert incoming.target == "sip:carol@example.com"
    assert incoming.referred_by == "<sip:bob@example.com>"
    (reply,) = replies(accepted)
    assert reply.response.code == 202
    (notify,) = requests(accepted, "NOTIFY")
    assert notify.headers.get("Event") == "refer"
    assert notify.headers.get("Subscription-State") == "active;expires=60"
    assert notify.body == b"SIP/2.0 100 Trying\r\n"
    assert notify.headers.get("Content-Type") == "message/sipfrag;version=2.0"


def test_transfer_accepted_progress_then_success() -> None:
    pair = answered_pair()
    refer, incoming, accepted = start_transfer(pair)
    events = refer.receive_response(wire(replies(accepted)[0].response))
    assert events == [TransferAccepted(code=202)]
    out = deliver_notifies(refer, accepted)
    assert [r.response.code for r in replies(out)] == [200]
    assert TransferProgress(code=100, reason="Trying") in out
    out = deliver_notifies(refer, incoming.report(180, "Ringing"))
    assert TransferProgress(code=180, reason="Ringing") in out
    final = incoming.report(200, "OK")
    (notify,) = requests(final, "NOTIFY")
    assert notify.headers.get("Subscription-State") == "terminated;reason=noresource"
    out = deliver_notifies(refer, final)
    assert TransferSucceeded(code=200, reason="OK") in out
    assert CancelTimer(name="refer") in out
    assert refer.finished and incoming.finished
    assert incoming.report(200, "OK") == []
    # A late NOTIFY is still answered, and reports nothing more.
    assert of_type(deliver_notifies(refer, accepted), TransferSucceeded) == []


def test_transfer_target_busy_is_a_failure() -> None:
    pair = answered_pair()
    refer, incoming, accepted = start_transfer(pair)
    out = deliver_notifies(refer, [*accepted, *incoming.report(486, "Busy Here")])
    assert TransferAccepted(code=202) in out  # the NOTIFY overtook the 202
    assert TransferFailed(code=486, reason="Busy Here") in out
    assert refer.finished


def test_refer_rejected_or_timed_out() -> None:
    pair = answered_pair()
    refer, incoming, _ = start_transfer(pair)
    rejected = wire(incoming.reject(603)[0].response)  # type: ignore[union-attr]
    assert refer.receive_response(rejected) == [
        CancelTimer(name="refer"),
        TransferFailed(code=603, reason="Decline"),
    ]
    pair = answered_pair()
    refer, _, _ = start_transfer(pair)
    assert of_type(refer.timer_fired("refer"), TransferFailed) == [
        TransferFailed(code=408, reason="no final transfer status in time")
    ]
    assert refer.timer_fired("refer") == []
    pair = answered_pair()
    refer, _, _ = start_transfer(pair)
    assert of_type(refer.request_failed(503, "transport failed"), TransferFailed)


def test_terminated_subscription_without_final_status_fails() -> None:
    pair = answered_pair()
    refer, _incoming, _accepted = start_transfer(pair)
    assert pair.caller.dialog is not None
    notify = pair.caller.dialog.create_request(
        "NOTIFY",
        b"SIP/2.0 180 Ringing\r\n",
        "message/sipfrag",
        headers=[("Event", "refer"), ("Subscription-State", "terminated;reason=timeout")],
    )
    out = refer.receive_notify(wire(notify))
    assert of_type(out, TransferFailed)


def test_bad_notifies_are_answered_with_errors() -> None:
    pair = answered_pair()
    refer, _, _ = start_transfer(pair)
    dialog = pair.caller.dialog
    assert dialog is not None
    wrong_event = dialog.create_request(
        "NOTIFY", b"SIP/2.0 200 OK\r\n", "message/sipfrag", headers=[("Event", "dialog")]
    )
    assert [r.response.code for r in replies(refer.receive_notify(wire(wrong_event)))] == [489]
    garbage = dialog.create_request(
        "NOTIFY", b"\xff\xfe", "message/sipfrag", headers=[("Event", "refer")]
    )
    assert [r.response.code for r in replies(refer.receive_notify(wire(garbage)))] == [400]
    assert not refer.finished


def test_refer_without_usable_refer_to_is_a_parse_error() -> None:
    pair = answered_pair()
    assert pair.callee.dialog is not None
    for header in ([], [("Refer-To", "<mailto:x@example.com>")], [("Refer-To", "<<<")]):
        request = pair.callee.dialog.create_request("REFER", headers=header)
        with pytest.raises(ParseError):
            IncomingRefer.from_request(pair.callee.dialog, wire(request))


def test_refer_target_must_be_a_sip_uri() -> None:
    pair = answered_pair()
    assert pair.callee.dialog is not None
    with pytest.raises(ValueError):
        OutgoingRefer(pair.callee.dialog, target="mailto:x@example.com", referred_by="sip:b@x")


def test_notify_after_the_dialog_ended_is_not_sent() -> None:
    pair = answered_pair()
    _, incoming, _ = start_transfer(pair)
    assert pair.caller.dialog is not None
    pair.caller.dialog.terminate()
    assert incoming.report(200, "OK") == []
    assert incoming.finished
