"""Properties of parse_message.

(a) Any bytes, and valid messages with random mutations, give a message or
ParseError, never another exception; a message it returns answers every
typed accessor and round-trips. (b) Generated valid messages in RFC 3261's
many spellings parse, and parse(bytes(m)) equals m.

``HYPOTHESIS_PROFILE=fuzz`` runs each property with 20,000 examples.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import event, example, given
from hypothesis import strategies as st
from sip_message_strategies import raw_messages

from protocols.sip import ParseError
from protocols.sip.message import SipRequest, SipResponse, messages_equal, parse_message

ACCESSORS = (
    "accept",
    "date",
    "via",
    "from_address",
    "to_address",
    "cseq",
    "call_id",
    "contact",
    "route",
    "record_route",
    "max_forwards",
    "content_length",
    "content_type",
    "expires",
    "min_expires",
    "retry_after",
    "www_authenticate",
    "www_authenticate_all",
    "proxy_authenticate",
    "authorization",
    "proxy_authorization",
    "refer_to",
    "event",
    "subscription_state",
)

INTERESTING = [
    b"\r\n", b"\r\n ", b"\r\n\r\n", b":", b";", b",", b'"', b"\\", b"<", b">", b" ", b"=",
    b"@", b"%", b"?", b"[", b"]", b"\x00", b"\x7f", b"\xff", b"\xc3", b"SIP/2.0", b"99999999999",
    b"-1", b"Via: ", b"l: 5", b"Content-Length: 0", b"*", b"sip:", b"tel:", b"Digest ",
]  # fmt: skip


def check_message_or_parse_error(data: bytes) -> None:
    try:
        message = parse_message(data)
    except ParseError:
        event("rejected with ParseError")
        return
    event("parsed")
    assert isinstance(message, SipRequest | SipResponse)
    for accessor in ACCESSORS:
        getattr(message, accessor)
    again = parse_message(bytes(message))
    assert messages_equal(message, again)
    assert bytes(again) == bytes(message)


@given(st.binary(max_size=600))
@example(b"")
@example(b"\r\n\r\n")
@example(b"SIP/2.0 200 OK\r\n\r\n")
def test_any_bytes_give_a_message_or_parse_error(data: bytes) -> None:
    check_message_or_parse_error(data)


# Seeds for mutation: the RFC 4475 torture messages, valid and invalid.
CORPUS = sorted(path.read_bytes() for path in (Path(__file__).parent / "rfc4475").glob("*.dat"))


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "flip"]))
        if action == "insert":
            data[position:position] = draw(st.sampled_from(INTERESTING))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        elif action == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(1, 40))]
        elif action == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


@given(mutated_messages())
def test_mutated_messages_give_a_message_or_parse_error(data: bytes) -> None:
    check_message_or_parse_error(data)


@given(raw_messages())
def test_generated_valid_messages_parse_and_round_trip(data: bytes) -> None:
    message = parse_message(data)
    for accessor in ACCESSORS:
        getattr(message, accessor)
    serialized = bytes(message)
    again = parse_message(serialized)
    assert messages_equal(message, again)
    assert bytes(again) == serialized
    assert again.via == message.via
    assert again.from_address == message.from_address
    assert again.to_address == message.to_address
    assert again.contact == message.contact
    assert again.www_authenticate_all == message.www_authenticate_all
    assert again.cseq == message.cseq
