"""Routing responses and requests to transactions (RFC 3261 s.17.1.3, 17.2.3), CANCEL."""

from __future__ import annotations

import pytest
from transaction_messages import make_request, make_response

from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.transaction import (
    InviteServerTransaction,
    TransactionTable,
    build_cancel,
    create_client_transaction,
    create_server_transaction,
    response_key,
    server_key,
)


def test_responses_route_by_branch_and_method() -> None:
    table = TransactionTable()
    invite = make_request()
    cancel = build_cancel(invite)
    invite_tx = create_client_transaction(invite, reliable=True)
    cancel_tx = create_client_transaction(cancel, reliable=True)
    table.add_client(invite_tx)
    table.add_client(cancel_tx)
    assert len(table) == 2
    assert table.match_response(make_response(invite, 487)) is invite_tx
    assert table.match_response(make_response(cancel, 200)) is cancel_tx
    other = make_request(branch="z9hG4bKother")
    assert table.match_response(make_response(other, 200)) is None
    table.remove(invite_tx)
    table.remove(invite_tx)
    assert table.match_response(make_response(invite, 487)) is None
    assert len(table) == 1


def test_requests_route_ack_to_invite_and_cancel_separately() -> None:
    table = TransactionTable()
    invite = make_request(branch="z9hG4bKremote")
    tx = create_server_transaction(invite, reliable=True)
    table.add_server(tx)
    assert table.match_request(make_request(branch="z9hG4bKremote")) is tx
    assert table.match_request(make_request("ACK", branch="z9hG4bKremote")) is tx
    cancel = build_cancel(invite)
    assert table.match_request(cancel) is None
    assert table.cancelled_invite(cancel) is tx
    # Same branch from another sent-by is another transaction.
    assert table.match_request(make_request(branch="z9hG4bKremote", via_host="x.invalid")) is None
    # ACK for a 2xx has a fresh branch: no transaction, it belongs to the dialog.
    assert table.match_request(make_request("ACK", branch="z9hG4bKnew")) is None
    with pytest.raises(LocalProtocolError):
        table.add_server(create_server_transaction(invite, reliable=True))


def test_cancelled_invite_ignores_non_invite_transactions() -> None:
    table = TransactionTable()
    options = make_request("OPTIONS", branch="z9hG4bKopt")
    table.add_server(create_server_transaction(options, reliable=True))
    assert table.cancelled_invite(build_cancel(make_request(branch="z9hG4bKopt"))) is None


def test_legacy_branch_keys_on_dialog_fields() -> None:
    invite = make_request(branch="1234")
    ack = make_request("ACK", branch="1234")
    assert server_key(invite) == server_key(ack)
    assert server_key(invite) != server_key(make_request(branch="1234", cseq=2))
    tx = create_server_transaction(invite, reliable=True)
    assert isinstance(tx, InviteServerTransaction)


def test_malformed_via_is_a_parse_error() -> None:
    response = make_response(make_request(), 200)
    response.headers.set("Via", "garbage")
    with pytest.raises(ParseError):
        response_key(response)
    response.headers.remove("Via")
    with pytest.raises(ParseError):
        response_key(response)
    request = make_request()
    request.headers.set("CSeq", "one INVITE")
    with pytest.raises(ParseError):
        create_client_transaction(request, reliable=True)
