"""StreamFramer: Content-Length framing of SIP over TCP-like streams."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip import ParseError
from protocols.sip.framing import StreamFramer
from protocols.sip.message import parse_message


def sip(body: bytes = b"", *, length_line: str | None = None, cseq: int = 1) -> bytes:
    length = length_line if length_line is not None else f"Content-Length: {len(body)}"
    return (
        "OPTIONS sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"
        f"Call-ID: f1\r\nCSeq: {cseq} OPTIONS\r\n{length}\r\n\r\n"
    ).encode() + body


def test_messages_split_across_and_within_chunks() -> None:
    first, second = sip(b"hello", cseq=1), sip(cseq=2)
    stream = first + second
    framer = StreamFramer()
    assert framer.feed(stream[:10]) == []
    assert framer.feed(stream[10 : len(first) + 3]) == [first]
    assert framer.feed(stream[len(first) + 3 :]) == [second]
    assert framer.buffered == 0


def test_keepalives_are_skipped_and_counted() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == []
    assert framer.feed(b"\r\n" + sip() + b"\r\n\r\n" + sip(b"x")) == [sip(), sip(b"x")]
    assert framer.keepalive_count == 3
    assert framer.buffered == 0


def test_compact_and_folded_content_length() -> None:
    framer = StreamFramer()
    assert framer.feed(sip(b"abc", length_line="l:3")) == [sip(b"abc", length_line="l:3")]
    folded = sip(b"ab", length_line="content-length:\r\n  2")
    assert framer.feed(folded) == [folded]
    assert parse_message(folded).body == b"ab"


def test_body_may_contain_crlfcrlf() -> None:
    body = b"\r\n\r\nv=0\r\n\r\n"
    framer = StreamFramer()
    assert framer.feed(sip(body) + sip()) == [sip(body), sip()]


@pytest.mark.parametrize(
    "length_line",
    ["X-Other: 1", "Content-Length: -1", "Content-Length: five", "Content-Length: 99999999999"],
)
def test_missing_or_invalid_content_length(length_line: str) -> None:
    with pytest.raises(ParseError):
        StreamFramer().feed(sip(length_line=length_line))


def test_conflicting_content_lengths() -> None:
    with pytest.raises(ParseError):
        StreamFramer().feed(sip(b"ab", length_line="Content-Length: 2\r\nl: 3"))


def test_oversized_header_section_and_body() -> None:
    framer = StreamFramer(max_header_bytes=200, max_body_bytes=10)
    with pytest.raises(ParseError):
        framer.feed(b"OPTIONS sip:a@b SIP/2.0\r\nX: " + b"a" * 300)
    with pytest.raises(ParseError):
        StreamFramer(max_body_bytes=10).feed(sip(b"x" * 11))


def test_oversized_header_detected_even_when_it_ends_later() -> None:
    framer = StreamFramer(max_header_bytes=100)
    with pytest.raises(ParseError):
        framer.feed(sip())


@given(st.lists(st.integers(1, 40), min_size=1, max_size=30), st.integers(0, 3))
def test_any_chunking_yields_the_same_messages(cuts: list[int], pings: int) -> None:
    messages = [sip(b"body-%d" % n, cseq=n) for n in range(3)]
    stream = (b"\r\n\r\n" * pings).join(messages)
    framer = StreamFramer()
    found: list[bytes] = []
    position = 0
    for cut in cuts:
        found += framer.feed(stream[position : position + cut])
        position += cut
    found += framer.feed(stream[position:])
    assert found == messages


@given(st.binary(max_size=400))
def test_any_bytes_frame_or_raise_parse_error(data: bytes) -> None:
    framer = StreamFramer(max_header_bytes=256, max_body_bytes=256)
    try:
        for message in framer.feed(data):
            assert message.count(b"\r\n\r\n") >= 1
    except ParseError:
        pass
