"""Malformed input from the far end raises ParseError, never anything else, in both roles
and in transfers; the session stays usable afterwards."""

from __future__ import annotations

import contextlib
import re

from hypothesis import event, given, settings
from hypothesis import strategies as st
from invite_pair import OFFER, Pair, wire
from sipmessage import Request, Response

from protocols.sip.errors import ParseError
from protocols.sip.message import parse_message
from protocols.sip.refer import IncomingRefer, OutgoingRefer
from protocols.sip.replies import response_to

HEADERS = ["From", "To", "CSeq", "Contact", "Content-Type", "Call-ID", "Record-Route", "Via"]
junk = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40),
    # Well-formed values in the wrong place: they pass the parser and reach the machine.
    st.sampled_from(
        [
            "<sip:x@y>",
            "<sip:x@y>;tag=",
            "<sip:x@y>;tag=other",
            "1 INVITE",
            "99999 BYE",
            "0 ACK",
            "application/sdp",
            "message/sipfrag",
            "refer;id=7",
            "terminated",
            "<sip:a@b;lr>",
            "SIP/2.0/WS h.invalid;branch=z9hG4bKother",
            "Digest realm=r",
        ]
    ),
)
bodies = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"Signal=", b"Signal=99", b"\xff\xfe", OFFER.encode()[:40], b"m=audio x"]),
)


def mutate(message: Request | Response, header: str, value: str, body: bytes) -> bytes:
    raw = bytes(message)
    head, _, _ = raw.partition(b"\r\n\r\n")
    pattern = re.compile(rb"^" + header.encode() + rb":[^\r]*", re.MULTILINE | re.IGNORECASE)
    replacement = header.encode() + b": " + value.encode("utf-8", "replace")
    head = pattern.sub(lambda _: replacement, head, count=1)
    head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


def parsed(data: bytes) -> Request | Response | None:
    try:
        message = parse_message(data)
    except ParseError:
        event("rejected by the parser")
        return None
    event("reached the machine")
    return message


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["BYE", "INFO", "INVITE", "UPDATE", "OPTIONS", "ACK", "CANCEL"]),
    header=st.sampled_from(HEADERS),
    value=junk,
    body=bodies,
    to_caller=st.booleans(),
)
def test_in_dialog_requests(
    method: str, header: str, value: str, body: bytes, to_caller: bool
) -> None:
    pair = Pair()
    pair.answered()
    sender, receiver = (pair.callee, pair.caller) if to_caller else (pair.caller, pair.callee)
    assert sender.dialog is not None
    if method in ("ACK", "CANCEL"):
        template: Request = Request(method, sender.dialog.remote_target)
        for name in ("Via", "From", "To", "Call-ID"):
            template.headers.add(name, sender.dialog.create_request("OPTIONS").headers[name])
        template.headers.add("CSeq", f"1 {method}")
        template.headers.add("Content-Length", "0")
    else:
        template = sender.dialog.create_request(method, b"x", "application/dtmf-relay")
    message = parsed(mutate(template, header, value, body))
    if not isinstance(message, Request):
        return
    with contextlib.suppress(ParseError):
        receiver.receive_request(message)
    # Still a working call: a proper BYE ends it.
    if not receiver.ended:
        assert receiver.dialog is not None and sender.dialog is not None
        receiver.receive_request(wire(sender.dialog.create_request("BYE")))


@settings(max_examples=300, deadline=None)
@given(
    code=st.sampled_from([100, 180, 183, 200, 401, 407, 486]),
    header=st.sampled_from([*HEADERS, "Proxy-Authenticate"]),
    value=junk,
    body=bodies,
)
def test_responses_to_the_invite(code: int, header: str, value: str, body: bytes) -> None:
    pair = Pair()
    response = response_to(
        pair.caller.invite, code, to_tag="t1", body=b"x", content_type="application/sdp"
    )
    response.headers.add("Contact", "<sip:bob@b.invalid>")
    response.headers.add("Proxy-Authenticate", 'Digest realm="r", nonce="n"')
    message = parsed(mutate(response, header, value, body))
    if not isinstance(message, Response):
        return
    with contextlib.suppress(ParseError):
        pair.caller.receive_response(message)
    pair.caller.hangup()


@settings(max_examples=200, deadline=None)
@given(
    header=st.sampled_from(["Refer-To", "Event", "Subscription-State", "CSeq", "From"]),
    value=junk,
    body=bodies,
)
def test_transfer_messages(header: str, value: str, body: bytes) -> None:
    pair = Pair()
    pair.answered()
    assert pair.caller.dialog is not None and pair.callee.dialog is not None
    refer = OutgoingRefer(pair.callee.dialog, target="sip:carol@x", referred_by="sip:bob@x")
    (request,) = [o.message for o in refer.start() if hasattr(o, "message")]
    message = parsed(mutate(request, header, value, body))
    if isinstance(message, Request):
        with contextlib.suppress(ParseError):
            IncomingRefer.from_request(pair.caller.dialog, message).accept()
    notify = pair.caller.dialog.create_request(
        "NOTIFY", b"SIP/2.0 200 OK\r\n", "message/sipfrag",
        headers=[("Event", "refer"), ("Subscription-State", "terminated")],
    )  # fmt: skip
    message = parsed(mutate(notify, header, value, body))
    if isinstance(message, Request):
        with contextlib.suppress(ParseError):
            refer.receive_notify(message)
