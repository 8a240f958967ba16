"""The transition tables as data: wire input is absorbed everywhere, and parsed
messages from the wire flow through the table and the machines."""

from __future__ import annotations

import pytest
from transaction_messages import make_request, make_response

from protocols.sip.message import SipRequest, SipResponse, parse_message
from protocols.sip.transaction import (
    ResponseReceived,
    State,
    TransactionTable,
    create_client_transaction,
    create_server_transaction,
)
from protocols.sip.transaction_client import INVITE_CLIENT_TABLES, NON_INVITE_CLIENT_TABLES
from protocols.sip.transaction_machine import Table
from protocols.sip.transaction_server import INVITE_SERVER_TABLES, NON_INVITE_SERVER_TABLES

WIRE_INPUTS = {
    "INVITE client": ("1xx", "2xx", "3xx-6xx", "transport error"),
    "non-INVITE client": ("1xx", "2xx", "3xx-6xx", "transport error"),
    "INVITE server": ("request", "ACK", "transport error"),
    "non-INVITE server": ("request", "transport error"),
}
TABLES = {
    "INVITE client": INVITE_CLIENT_TABLES,
    "non-INVITE client": NON_INVITE_CLIENT_TABLES,
    "INVITE server": INVITE_SERVER_TABLES,
    "non-INVITE server": NON_INVITE_SERVER_TABLES,
}


def reachable(table: Table) -> set[State]:
    seen = {State.IDLE}
    frontier = [State.IDLE]
    while frontier:
        state = frontier.pop()
        for (source, _event), (target, _effects) in table.items():
            if source is state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


@pytest.mark.parametrize("reliable", [False, True])
@pytest.mark.parametrize("kind", sorted(TABLES))
def test_every_reachable_state_absorbs_wire_input(kind: str, reliable: bool) -> None:
    table = TABLES[kind][reliable]
    states = reachable(table) - {State.IDLE}
    assert State.TERMINATED in states
    missing = [
        (state.value, event)
        for state in states
        for event in WIRE_INPUTS[kind]
        if (state, event) not in table
    ]
    assert missing == []
    assert {state for (state, _event) in table} == reachable(table)
    for (state, _event), (target, effects) in table.items():
        if state is State.TERMINATED:
            assert (target, effects) == (State.TERMINATED, ())


def test_reliable_tables_have_no_retransmission_timers() -> None:
    for kind, tables in TABLES.items():
        events = {event for (_state, event) in tables[True]}
        assert not {"timer A", "timer E", "timer G"} & events, kind
        assert not {"timer D", "timer I", "timer J", "timer K"} & events, kind


def test_parsed_messages_route_through_the_table() -> None:
    table = TransactionTable()
    invite = parse_message(bytes(make_request()))
    assert isinstance(invite, SipRequest)
    client = create_client_transaction(invite, reliable=True)
    table.add_client(client)
    client.start()
    raw_ok = bytes(make_response(make_request(), 200))
    ok = parse_message(raw_ok)
    assert isinstance(ok, SipResponse)
    assert table.match_response(ok) is client
    assert client.receive_response(ok)[0] == ResponseReceived(response=ok)

    remote = parse_message(bytes(make_request("MESSAGE", branch="z9hG4bKpeer")))
    assert isinstance(remote, SipRequest)
    assert table.match_request(remote) is None
    server = create_server_transaction(remote, reliable=True)
    table.add_server(server)
    again = parse_message(bytes(make_request("MESSAGE", branch="z9hG4bKpeer")))
    assert isinstance(again, SipRequest)
    assert table.match_request(again) is server
    assert len(table) == 2
