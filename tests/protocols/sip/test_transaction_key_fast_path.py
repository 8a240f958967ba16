"""``client_key``/``response_key`` read the typed accessors directly; they must
give exactly what the checked_headers readers give, ParseError included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sip_message_strategies import raw_messages, vias
from sipmessage import Message, Request, Response

from protocols.sip import checked_headers
from protocols.sip.errors import ParseError
from protocols.sip.message import parse_message
from protocols.sip.transaction_matching import ClientKey, client_key, response_key


def reference_key(message: Request | Response) -> ClientKey:
    """The general path: what the keys were before the fast path."""
    branch = checked_headers.top_via(message).parameters.get("branch") or ""
    return (branch, checked_headers.cseq(message).method)


def outcome(key_of: object, message: Request | Response) -> ClientKey | str:
    try:
        return key_of(message)  # type: ignore[operator, no-any-return]
    except ParseError:
        return "ParseError"


def fast_key(message: Request | Response) -> ClientKey:
    return client_key(message) if isinstance(message, Request) else response_key(message)


# Header values the readers must reject or treat specially, next to good ones.
via_values = st.one_of(
    vias(),
    st.sampled_from(
        [
            "",
            "garbage",
            "SIP/2.0/WS host;branch",
            "SIP/2.0/WS host;branch=",
            "SIP/2.0/WS host",
            "SIP/2.0/WS host;branch=z9hG4bKa, SIP/2.0/UDP other;branch=z9hG4bKb",
            "SIP/2.0/WS host;;branch=x",
        ]
    ),
)
cseq_values = st.one_of(
    st.sampled_from(["1 REGISTER", "  7   INVITE ", "", "REGISTER", "x REGISTER", "1 RE GISTER"]),
    st.builds("{} {}".format, st.integers(0, 2**32), st.sampled_from(["BYE", "OPTIONS"])),
)


@st.composite
def plain_messages(draw: st.DrawFn) -> Request | Response:
    """sipmessage messages (not parsed by us) with any Via and CSeq, or none."""
    if draw(st.booleans()):
        message: Request | Response = Message.parse(b"REGISTER sip:example.com SIP/2.0\r\n\r\n")
    else:
        message = Message.parse(b"SIP/2.0 200 OK\r\n\r\n")
    for _ in range(draw(st.integers(0, 2))):
        message.headers.add("Via", draw(via_values))
    if draw(st.booleans()):
        message.headers.add("CSeq", draw(cseq_values))
    return message


@given(plain_messages())
def test_key_of_any_message_equals_the_checked_readers(message: Request | Response) -> None:
    assert outcome(fast_key, message) == outcome(reference_key, message)


@given(raw_messages())
def test_key_of_parsed_messages_equals_the_checked_readers(raw: bytes) -> None:
    message = parse_message(raw)
    assert outcome(fast_key, message) == outcome(reference_key, message)
    assert fast_key(message) == reference_key(message)


@given(via_values, cseq_values)
def test_key_after_header_changes_equals_the_checked_readers(via: str, cseq: str) -> None:
    message = parse_message(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
    )
    message.headers.set("Via", via)
    message.headers.set("CSeq", cseq)
    assert outcome(fast_key, message) == outcome(reference_key, message)
