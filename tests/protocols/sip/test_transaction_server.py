"""INVITE and non-INVITE server transactions, step by step against RFC 3261 s.17.2."""

from __future__ import annotations

import pytest
from sipmessage import Response
from transaction_messages import make_request, make_response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.errors import LocalProtocolError
from protocols.sip.transaction import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    RequestReceived,
    State,
    Terminated,
    TimedOut,
    TransportFailed,
    create_server_transaction,
)


def test_invite_server_passes_request_and_sends_trying_when_tu_is_slow() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=True)
    assert tx.start() == [
        RequestReceived(request=invite),
        StartTimer(name="Trying", seconds=0.2),
    ]
    (send,) = tx.timer_fired("Trying")
    assert isinstance(send, Send)
    trying = send.message
    assert isinstance(trying, Response)
    assert trying.code == 100 and "tag" not in trying.to_address.parameters
    assert tx.receive_request(make_request()) == [Send(message=trying)]


def test_invite_server_failure_over_udp_retransmits_until_ack() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start()
    busy = make_response(invite, 486)
    assert tx.respond(busy) == [
        Send(message=busy),
        CancelTimer(name="Trying"),
        StartTimer(name="G", seconds=0.5),
        StartTimer(name="H", seconds=32.0),
    ]
    assert tx.timer_fired("G") == [Send(message=busy), StartTimer(name="G", seconds=1.0)]
    assert tx.receive_request(make_request()) == [Send(message=busy)]
    out = tx.receive_request(make_request("ACK"))
    assert out == [CancelTimer(name="G"), CancelTimer(name="H"), StartTimer(name="I", seconds=5.0)]
    assert tx.state is State.CONFIRMED
    assert tx.receive_request(make_request("ACK")) == []
    assert tx.timer_fired("I") == [Terminated()]


def test_invite_server_g_is_capped_and_budgeted() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start()
    tx.respond(make_response(invite, 404))
    intervals = []
    while "G" in tx.running_timers:
        intervals += [o.seconds for o in tx.timer_fired("G") if isinstance(o, StartTimer)]
    assert intervals == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert tx.timer_fired("H") == [TimedOut(), Terminated()]


def test_invite_server_reliable_ack_terminates() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=True)
    tx.start()
    tx.respond(make_response(invite, 603))
    assert tx.receive_request(make_request("ACK")) == [CancelTimer(name="H"), Terminated()]


def test_invite_server_accepted_sends_tu_2xx_and_absorbs_invites() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=False)
    tx.start()
    ringing = make_response(invite, 180)
    assert tx.respond(ringing) == [Send(message=ringing), CancelTimer(name="Trying")]
    assert tx.receive_request(make_request()) == [Send(message=ringing)]
    ok = make_response(invite, 200)
    assert tx.respond(ok) == [Send(message=ok), StartTimer(name="L", seconds=32.0)]
    assert tx.state is State.ACCEPTED
    assert tx.receive_request(make_request()) == []
    assert tx.respond(ok) == [Send(message=ok)]
    with pytest.raises(LocalProtocolError):
        tx.respond(make_response(invite, 500))
    assert tx.timer_fired("L") == [Terminated()]
    with pytest.raises(LocalProtocolError):
        tx.respond(ok)


def test_invite_server_transport_error() -> None:
    invite = make_request()
    tx = InviteServerTransaction(invite, reliable=True)
    tx.start()
    tx.respond(make_response(invite, 200))
    assert tx.transport_error() == [TransportFailed(), CancelTimer(name="L"), Terminated()]
    assert tx.transport_error() == []


def test_non_invite_server_over_udp() -> None:
    bye = make_request("BYE")
    tx = create_server_transaction(bye, reliable=False)
    assert isinstance(tx, NonInviteServerTransaction)
    assert tx.start() == [RequestReceived(request=bye)]
    assert tx.receive_request(make_request("BYE")) == []
    trying = make_response(bye, 100, to_tag=None)
    assert tx.respond(trying) == [Send(message=trying)]
    assert tx.receive_request(make_request("BYE")) == [Send(message=trying)]
    ok = make_response(bye, 200)
    assert tx.respond(ok) == [Send(message=ok), StartTimer(name="J", seconds=32.0)]
    assert tx.receive_request(make_request("BYE")) == [Send(message=ok)]
    with pytest.raises(LocalProtocolError):
        tx.respond(ok)
    assert tx.timer_fired("J") == [Terminated()]
    assert tx.receive_request(make_request("BYE")) == []


def test_non_invite_server_reliable_ends_with_final() -> None:
    notify = make_request("NOTIFY")
    tx = NonInviteServerTransaction(notify, reliable=True)
    tx.start()
    ok = make_response(notify, 200)
    assert tx.respond(ok) == [Send(message=ok), Terminated()]


def test_server_kind_checks_method() -> None:
    with pytest.raises(LocalProtocolError):
        InviteServerTransaction(make_request("OPTIONS"), reliable=True)
    with pytest.raises(LocalProtocolError):
        NonInviteServerTransaction(make_request("ACK"), reliable=True)
    tx = NonInviteServerTransaction(make_request("OPTIONS"), reliable=True)
    with pytest.raises(LocalProtocolError):
        tx.respond(make_response(make_request("OPTIONS"), 200))
