"""SipEndpoint: one account's transactions, their prefixed timers, and what
reaches the usages (final/provisional responses, failures, new requests)."""

from __future__ import annotations

from sipmessage import Message, Request, Response

from kazoo_actors.actors.sip_endpoint import (
    FinalResponse,
    IncomingRequest,
    ProvisionalResponse,
    RequestFailed,
    SipEndpoint,
)
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.replies import response_to


def request(method: str = "REGISTER", branch: str = "z9hG4bKone", cseq: int = 1) -> Request:
    text = (
        f"{method} sip:kazoo.test SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS abc.invalid;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@kazoo.test>;tag=a1\r\n"
        "To: <sip:alice@kazoo.test>\r\n"
        "Call-ID: call-1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = Message.parse(text.encode())
    assert isinstance(message, Request)
    return message


def reply(to: Request, code: int) -> Response:
    return response_to(to, code, to_tag="srv")


def test_a_request_is_sent_with_its_timeout_timer_and_the_final_response_cancels_it() -> None:
    endpoint = SipEndpoint(account="alice")
    register = request()
    assert endpoint.send_request(register) == [
        Send(message=register),
        StartTimer(name="t1/F", seconds=32.0),
    ]
    assert len(endpoint) == 1
    ok = reply(register, 200)
    assert endpoint.receive(ok) == [
        FinalResponse(request=register, response=ok),
        CancelTimer(name="t1/F"),
    ]
    assert len(endpoint) == 0
    # The same response again matches nothing: it is dropped.
    assert endpoint.receive(ok) == []


def test_provisional_then_final_and_each_transaction_has_its_own_prefix() -> None:
    endpoint = SipEndpoint(account="alice")
    first, second = request(), request(branch="z9hG4bKtwo", cseq=2)
    endpoint.send_request(first)
    assert endpoint.send_request(second)[1] == StartTimer(name="t2/F", seconds=32.0)
    trying = reply(second, 100)
    assert endpoint.receive(trying) == [ProvisionalResponse(request=second, response=trying)]
    failure = reply(second, 403)
    assert endpoint.receive(failure) == [
        FinalResponse(request=second, response=failure),
        CancelTimer(name="t2/F"),
    ]
    assert len(endpoint) == 1


def test_timer_f_fails_the_request_with_408() -> None:
    endpoint = SipEndpoint(account="alice")
    register = request()
    endpoint.send_request(register)
    assert endpoint.timer_fired("t1/F") == [
        RequestFailed(request=register, code=408, reason="timed out")
    ]
    assert len(endpoint) == 0
    # A timer that no longer belongs to a live transaction is ignored.
    assert endpoint.timer_fired("t1/F") == []
    assert endpoint.timer_fired("t9/F") == []


def test_a_lost_transport_fails_every_open_request_with_503() -> None:
    endpoint = SipEndpoint(account="alice")
    register = request()
    endpoint.send_request(register)
    assert endpoint.transport_lost() == [
        RequestFailed(request=register, code=503, reason="transport failed"),
        CancelTimer(name="t1/F"),
    ]
    assert len(endpoint) == 0


def test_a_request_from_the_server_is_passed_up_once_and_answered() -> None:
    endpoint = SipEndpoint(account="alice")
    options = request("OPTIONS", branch="z9hG4bKsrv")
    assert endpoint.receive(options) == [IncomingRequest(request=options)]
    # A retransmission before the answer is absorbed by the server transaction.
    assert endpoint.receive(request("OPTIONS", branch="z9hG4bKsrv")) == []
    ok = reply(options, 200)
    assert endpoint.respond(options, ok) == [Send(message=ok)]
    assert len(endpoint) == 0
    assert endpoint.respond(options, ok) == []


def test_an_ack_without_a_transaction_goes_to_the_usage() -> None:
    endpoint = SipEndpoint(account="alice")
    ack = request("ACK", branch="z9hG4bKack")
    assert endpoint.receive(ack) == [IncomingRequest(request=ack)]
    assert len(endpoint) == 0


def test_prefixed_timer_actions_equal_freshly_built_ones_past_the_kept_bound() -> None:
    from kazoo_actors.actors import sip_endpoint

    for number in range(1, 2 * sip_endpoint._MAX_PREFIXED + 3):
        prefix = f"t{number}"
        start = sip_endpoint.prefixed_start(prefix, StartTimer(name="F", seconds=32.0))
        assert start == StartTimer(name=f"{prefix}/F", seconds=32.0)
        cancel = sip_endpoint.prefixed_cancel(prefix, CancelTimer(name="F"))
        assert cancel == CancelTimer(name=f"{prefix}/F")
    # The same prefix with another duration is another action, never the kept one.
    assert sip_endpoint.prefixed_start("t1", StartTimer(name="F", seconds=1.5)) == StartTimer(
        name="t1/F", seconds=1.5
    )
    assert len(sip_endpoint._PREFIXED_STARTS) <= sip_endpoint._MAX_PREFIXED
    assert len(sip_endpoint._PREFIXED_CANCELS) <= sip_endpoint._MAX_PREFIXED
