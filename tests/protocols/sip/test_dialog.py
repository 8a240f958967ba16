"""Dialogs (RFC 3261 s.12): creation on both sides, route sets, CSeq, target refresh."""

from __future__ import annotations

import random

import pytest
from sipmessage import Via
from transaction_messages import make_request, make_response

from protocols.sip.dialog import (
    Dialog,
    DialogId,
    DialogState,
    RejectRequest,
    creates_dialog,
    id_for_request,
    id_for_response,
)
from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.message import parse_message

BOB = "<sip:bob@198.51.100.7:5060;transport=ws>"
RR = ("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>")


def uac_dialog(code: int = 200, record_routes: tuple[str, ...] = RR) -> Dialog:
    invite = make_request(cseq=10)
    response = make_response(invite, code, contact=BOB, record_routes=record_routes)
    return Dialog.from_uac(invite, response, rng=random.Random(1))


def test_uac_dialog_from_2xx() -> None:
    dialog = uac_dialog()
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.id == DialogId("call-1@example.com", "alicetag", "bobtag")
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p2.example.com;lr",
        "sip:p1.example.com;lr",
    ]
    assert str(dialog.remote_target) == "sip:bob@198.51.100.7:5060;transport=ws"
    assert (dialog.local_seq, dialog.remote_seq) == (10, None)


def test_in_dialog_request_uses_loose_routing_and_next_cseq() -> None:
    dialog = uac_dialog()
    bye = dialog.create_request("BYE")
    assert str(bye.uri) == "sip:bob@198.51.100.7:5060;transport=ws"
    assert bye.headers.getlist("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert str(bye.cseq) == "11 BYE"
    assert bye.from_address.parameters["tag"] == "alicetag"
    assert bye.to_address.parameters["tag"] == "bobtag"
    assert bye.headers["Call-ID"] == "call-1@example.com"
    (via,) = bye.via
    assert (via.transport, via.host) == ("WSS", "df7jal23ls0d.invalid")
    assert (via.parameters["branch"] or "").startswith("z9hG4bK")
    assert "rport" in via.parameters
    assert bye.headers.get("Contact") is None
    info = dialog.create_request("INFO", b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")
    assert str(info.cseq) == "12 INFO"
    assert info.headers["Content-Type"] == "application/dtmf-relay"
    assert info.headers["Content-Length"] == str(len(info.body))
    assert info.via[0].parameters["branch"] != via.parameters["branch"]
    reinvite = dialog.create_request("INVITE", headers=[("Supported", "replaces")])
    assert reinvite.headers["Contact"] == "<sip:alice@192.0.2.10:5060;transport=ws>"
    assert reinvite.headers["Supported"] == "replaces"


def test_built_requests_survive_the_real_parser() -> None:
    dialog = uac_dialog()
    refer = dialog.create_request("REFER", headers=[("Refer-To", "<sip:carol@example.com>")])
    parsed = parse_message(bytes(refer))
    assert parsed.cseq.method == "REFER"
    assert parsed.headers.get("Contact") is not None


def test_strict_router_gets_the_request_uri() -> None:
    dialog = uac_dialog(
        record_routes=("<sip:p1.example.com;lr>", "<sip:strict.example.com;method=INVITE>")
    )
    bye = dialog.create_request("BYE")
    assert str(bye.uri) == "sip:strict.example.com"
    assert bye.headers.getlist("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:bob@198.51.100.7:5060;transport=ws>",
    ]


def test_no_route_set_sends_to_remote_target() -> None:
    dialog = uac_dialog(record_routes=())
    bye = dialog.create_request("BYE")
    assert str(bye.uri) == "sip:bob@198.51.100.7:5060;transport=ws"
    assert bye.headers.getlist("Route") == []


def test_ack_for_2xx_reuses_invite_cseq_and_credentials() -> None:
    invite = make_request(cseq=10)
    invite.headers.add("Proxy-Authorization", 'Digest username="alice", realm="r"')
    ok = make_response(invite, 200, contact=BOB, record_routes=RR)
    dialog = Dialog.from_uac(invite, ok)
    dialog.create_request("INFO")
    ack = dialog.create_ack(ok, credentials_from=invite)
    assert str(ack.cseq) == "10 ACK"
    assert ack.headers["Proxy-Authorization"] == invite.headers["Proxy-Authorization"]
    assert str(ack.uri) == "sip:bob@198.51.100.7:5060;transport=ws"
    assert dialog.local_seq == 11
    with pytest.raises(LocalProtocolError):
        dialog.create_ack(make_response(invite, 486))
    with pytest.raises(LocalProtocolError):
        dialog.create_request("ACK")


def test_early_dialog_confirmed_by_2xx_recomputes_route_set() -> None:
    invite = make_request(cseq=3)
    ringing = make_response(invite, 180, contact=BOB, record_routes=("<sip:old.example.com;lr>",))
    assert creates_dialog(ringing)
    assert not creates_dialog(make_response(invite, 100, to_tag=None))
    dialog = Dialog.from_uac(invite, ringing)
    assert dialog.state is DialogState.EARLY
    ok = make_response(invite, 200, contact="<sip:bob@203.0.113.9>", record_routes=RR)
    assert dialog.receive_response(ok) is DialogState.CONFIRMED
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p2.example.com;lr",
        "sip:p1.example.com;lr",
    ]
    assert str(dialog.remote_target) == "sip:bob@203.0.113.9"


def test_early_dialog_ends_on_failure_of_creating_invite() -> None:
    invite = make_request()
    dialog = Dialog.from_uac(invite, make_response(invite, 183, contact=BOB))
    assert dialog.receive_response(make_response(invite, 486)) is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        dialog.create_request("BYE")
    with pytest.raises(LocalProtocolError):
        Dialog.from_uac(invite, make_response(invite, 180, to_tag=None))


def test_target_refresh_by_response_and_request() -> None:
    dialog = uac_dialog()
    reinvite = dialog.create_request("INVITE")
    ok = make_response(reinvite, 200, contact="<sip:bob@203.0.113.20>")
    dialog.receive_response(ok)
    assert str(dialog.remote_target) == "sip:bob@203.0.113.20"
    info = dialog.create_request("INFO")
    dialog.receive_response(make_response(info, 200, contact="<sip:ignored@203.0.113.30>"))
    assert str(dialog.remote_target) == "sip:bob@203.0.113.20"
    update = make_request(
        "UPDATE",
        cseq=1,
        to="<sip:alice@example.com>;tag=alicetag",
        from_tag="bobtag",
        contact="<sip:bob@203.0.113.40>",
    )
    assert dialog.receive_request(update) is None
    assert str(dialog.remote_target) == "sip:bob@203.0.113.40"


def test_remote_cseq_must_not_go_backwards() -> None:
    dialog = uac_dialog()
    assert dialog.receive_request(make_request("INFO", cseq=5, contact=None)) is None
    assert dialog.remote_seq == 5
    assert dialog.receive_request(make_request("INFO", cseq=5, contact=None)) is None
    assert dialog.receive_request(make_request("INFO", cseq=4, contact=None)) == RejectRequest(
        code=500, phrase="Server Internal Error"
    )
    assert dialog.remote_seq == 5
    assert dialog.receive_request(make_request("ACK", cseq=1, contact=None)) is None
    assert dialog.receive_request(make_request("BYE", cseq=6, contact=None)) is None
    assert dialog.state is DialogState.TERMINATED
    gone = dialog.receive_request(make_request("INFO", cseq=7))
    assert gone is not None and gone.code == 481


def test_481_and_408_end_the_dialog() -> None:
    for code in (481, 408):
        dialog = uac_dialog()
        bye = dialog.create_request("INFO")
        assert dialog.receive_response(make_response(bye, code)) is DialogState.TERMINATED


def test_uas_dialog() -> None:
    invite = make_request(cseq=42, record_routes=RR)
    ringing = make_response(invite, 180, to_tag="mytag", contact="<sip:me@192.0.2.1;transport=ws>")
    via = Via.parse("SIP/2.0/WSS abc.invalid;branch=z9hG4bKignored")
    dialog = Dialog.from_uas(invite, ringing, local_via=via, rng=random.Random(5))
    assert dialog.state is DialogState.EARLY
    assert dialog.id == id_for_request(make_request(to="<sip:bob@example.com>;tag=mytag"))
    assert dialog.remote_seq == 42 and dialog.local_seq is None
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr",
    ]
    dialog.response_sent(make_response(invite, 200, to_tag="mytag"))
    # mypy keeps the EARLY narrowing across response_sent, which changes the state.
    assert dialog.state is DialogState.CONFIRMED  # type: ignore[comparison-overlap]
    bye = dialog.create_request("BYE")
    assert 1 <= bye.cseq.sequence < 2**31
    assert bye.to_address.parameters["tag"] == "alicetag"
    assert bye.from_address.parameters["tag"] == "mytag"
    assert str(bye.uri) == "sip:alice@192.0.2.10:5060;transport=ws"
    assert bye.via[0].host == "abc.invalid"
    assert bye.via[0].parameters["branch"] != "z9hG4bKignored"
    assert dialog.create_request("NOTIFY").cseq.sequence == bye.cseq.sequence + 1
    with pytest.raises(LocalProtocolError):
        Dialog.from_uas(invite, make_response(invite, 180, to_tag=None), local_via=via)


def test_uas_early_dialog_ends_with_failure_response() -> None:
    invite = make_request()
    via = Via.parse("SIP/2.0/WSS abc.invalid")
    dialog = Dialog.from_uas(invite, make_response(invite, 183, to_tag="t"), local_via=via)
    dialog.response_sent(make_response(invite, 603, to_tag="t"))
    assert dialog.state is DialogState.TERMINATED


def test_ids_match_between_sides() -> None:
    invite = make_request()
    ok = make_response(invite, 200, contact=BOB)
    assert id_for_response(ok) == Dialog.from_uac(invite, ok).id


def test_malformed_contact_is_a_parse_error() -> None:
    invite = make_request()
    ok = make_response(invite, 200)
    ok.headers.add("Contact", "<<not an address")
    with pytest.raises(ParseError):
        Dialog.from_uac(invite, ok)
