"""INVITE and non-INVITE client transactions, step by step against RFC 3261 s.17.1."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sipmessage import Request, Response
from transaction_messages import make_request, make_response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.transaction import (
    InviteClientTransaction,
    NonInviteClientTransaction,
    ResponseReceived,
    RetransmittedResponse,
    State,
    Terminated,
    TimedOut,
    TimerSettings,
    TransportFailed,
    create_client_transaction,
)


def sends(outputs: Sequence[object]) -> list[Request | Response]:
    return [o.message for o in outputs if isinstance(o, Send)]


def test_invite_over_udp_retransmits_with_doubling_timer_a() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    out = tx.start()
    assert out == [
        Send(message=invite),
        StartTimer(name="A", seconds=0.5),
        StartTimer(name="B", seconds=32.0),
    ]
    assert tx.state is State.CALLING
    intervals = []
    while "A" in tx.running_timers:
        out = tx.timer_fired("A")
        assert sends(out) == [invite]
        intervals += [o.seconds for o in out if isinstance(o, StartTimer)]
    # 0.5 + 1 + ... + 32 = 63.5 s would pass B (32 s): retransmissions stop before it.
    assert intervals == [1.0, 2.0, 4.0, 8.0, 16.0]
    out = tx.timer_fired("B")
    assert out == [TimedOut(), Terminated()]
    assert tx.terminated


def test_invite_over_websocket_has_no_timer_a() -> None:
    tx = InviteClientTransaction(make_request(), reliable=True)
    out = tx.start()
    assert [o for o in out if isinstance(o, StartTimer)] == [StartTimer(name="B", seconds=32.0)]


def test_custom_t1_scales_timer_b() -> None:
    tx = InviteClientTransaction(make_request(), reliable=True, timers=TimerSettings(t1=0.25))
    assert StartTimer(name="B", seconds=16.0) in tx.start()


def test_provisional_stops_retransmission_and_arms_guard() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start()
    ringing = make_response(invite, 180)
    out = tx.receive_response(ringing)
    assert out == [
        ResponseReceived(response=ringing),
        CancelTimer(name="A"),
        CancelTimer(name="B"),
        StartTimer(name="C", seconds=180.0),
    ]
    assert tx.can_cancel
    assert tx.timer_fired("C") == [TimedOut(), Terminated()]


def test_non_2xx_final_is_acked_and_retransmissions_reacked() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=False)
    tx.start()
    tx.receive_response(make_response(invite, 100, to_tag=None))
    busy = make_response(invite, 486)
    out = tx.receive_response(busy)
    assert out[0] == ResponseReceived(response=busy)
    (ack,) = sends(out)
    assert StartTimer(name="D", seconds=32.0) in out
    assert tx.state is State.COMPLETED
    again = tx.receive_response(make_response(invite, 486))
    assert again == [Send(message=ack)]
    assert tx.timer_fired("D") == [Terminated()]


def test_non_2xx_ack_shape() -> None:
    invite = make_request(routes=("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"))
    tx = InviteClientTransaction(invite, reliable=True)
    tx.start()
    out = tx.receive_response(make_response(invite, 603, to_tag="xyz"))
    (ack,) = sends(out)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert ack.headers.getlist("Via") == invite.headers.getlist("Via")[:1]
    assert ack.headers.getlist("Route") == invite.headers.getlist("Route")
    assert ack.headers["Call-ID"] == invite.headers["Call-ID"]
    assert ack.headers["From"] == invite.headers["From"]
    assert ack.to_address.parameters["tag"] == "xyz"
    assert str(ack.cseq) == "1 ACK"
    # Reliable transport: Timer D is zero, the transaction ends at once.
    assert out[-1] == Terminated()


def test_2xx_enters_accepted_and_marks_retransmissions() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=True)
    tx.start()
    ok = make_response(invite, 200, to_tag="fork1")
    out = tx.receive_response(ok)
    assert out == [
        ResponseReceived(response=ok),
        CancelTimer(name="B"),
        StartTimer(name="M", seconds=32.0),
    ]
    assert tx.state is State.ACCEPTED
    again = make_response(invite, 200, to_tag="fork1")
    assert tx.receive_response(again) == [RetransmittedResponse(response=again)]
    fork = make_response(invite, 200, to_tag="fork2")
    assert tx.receive_response(fork) == [ResponseReceived(response=fork)]
    assert tx.receive_response(make_response(invite, 180)) == []
    assert tx.timer_fired("M") == [Terminated()]


def test_transport_error_fails_an_open_transaction_only() -> None:
    invite = make_request()
    tx2 = InviteClientTransaction(invite, reliable=True)
    tx2.start()
    tx2.receive_response(make_response(invite, 200))
    assert tx2.transport_error() == [CancelTimer(name="M"), Terminated()]
    assert tx2.transport_error() == []


def test_transport_error_output_order() -> None:
    tx = InviteClientTransaction(make_request(), reliable=False)
    tx.start()
    assert tx.transport_error() == [
        TransportFailed(),
        CancelTimer(name="A"),
        CancelTimer(name="B"),
        Terminated(),
    ]


def test_local_misuse_raises_local_protocol_error() -> None:
    tx = InviteClientTransaction(make_request(), reliable=True)
    with pytest.raises(LocalProtocolError) as info:
        tx.timer_fired("B")
    assert (info.value.event, info.value.state) == ("timer B", "Idle")
    tx.start()
    with pytest.raises(LocalProtocolError):
        tx.start()
    with pytest.raises(LocalProtocolError):
        tx.timer_fired("A")
    with pytest.raises(LocalProtocolError):
        InviteClientTransaction(make_request("BYE"), reliable=True)
    with pytest.raises(LocalProtocolError):
        NonInviteClientTransaction(make_request("INVITE"), reliable=True)


def test_out_of_range_status_is_a_parse_error() -> None:
    invite = make_request()
    tx = InviteClientTransaction(invite, reliable=True)
    tx.start()
    bad = make_response(invite, 200)
    bad.code = 99
    with pytest.raises(ParseError):
        tx.receive_response(bad)


def test_non_invite_over_udp_caps_timer_e_at_t2() -> None:
    register = make_request("REGISTER")
    tx = NonInviteClientTransaction(register, reliable=False)
    assert tx.start() == [
        Send(message=register),
        StartTimer(name="E", seconds=0.5),
        StartTimer(name="F", seconds=32.0),
    ]
    intervals = []
    while "E" in tx.running_timers:
        out = tx.timer_fired("E")
        assert sends(out) == [register]
        intervals += [o.seconds for o in out if isinstance(o, StartTimer)]
    assert intervals == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert tx.timer_fired("F") == [TimedOut(), Terminated()]


def test_non_invite_proceeding_retransmits_at_t2() -> None:
    register = make_request("REGISTER")
    tx = NonInviteClientTransaction(register, reliable=False)
    tx.start()
    tx.receive_response(make_response(register, 100, to_tag=None))
    assert tx.state is State.PROCEEDING
    assert tx.timer_fired("E") == [Send(message=register), StartTimer(name="E", seconds=4.0)]


def test_non_invite_final_passed_once_then_timer_k() -> None:
    register = make_request("REGISTER")
    tx = NonInviteClientTransaction(register, reliable=False)
    tx.start()
    ok = make_response(register, 200)
    out = tx.receive_response(ok)
    assert out == [
        ResponseReceived(response=ok),
        CancelTimer(name="E"),
        CancelTimer(name="F"),
        StartTimer(name="K", seconds=5.0),
    ]
    assert tx.receive_response(make_response(register, 200)) == []
    assert tx.timer_fired("K") == [Terminated()]


def test_non_invite_reliable_terminates_on_final() -> None:
    bye = make_request("BYE")
    tx = create_client_transaction(bye, reliable=True)
    assert isinstance(tx, NonInviteClientTransaction)
    tx.start()
    unauthorized = make_response(bye, 401)
    assert tx.receive_response(unauthorized) == [
        ResponseReceived(response=unauthorized),
        CancelTimer(name="F"),
        Terminated(),
    ]
    assert tx.receive_response(make_response(bye, 200)) == []
