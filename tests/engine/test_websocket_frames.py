"""RFC 6455 client frames: masking round trip, the server's frames decoded, framing errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kazoo_actors.websocket_frames import (
    KEEPALIVE_PING,
    KEEPALIVE_PONG,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameDecoder,
    FramingError,
    client_frame,
    mask,
    python_mask,
)


def server_frame(opcode: int, payload: bytes, *, final: bool = True) -> bytes:
    length = len(payload)
    first = (0x80 if final else 0) | opcode
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big") + payload
    return bytes((first, 127)) + length.to_bytes(8, "big") + payload


def unmask(frame: bytes) -> tuple[int, bytes]:
    """Decode one client frame the way a server does (RFC 6455 s.5.3)."""
    assert frame[0] & 0x80 and frame[1] & 0x80  # final and masked
    length, start = frame[1] & 0x7F, 2
    if length == 126:
        length, start = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(frame[2:10], "big"), 10
    key, body = frame[start : start + 4], frame[start + 4 :]
    assert len(body) == length
    return frame[0] & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(body))


@given(st.binary(max_size=70000))
def test_client_frames_unmask_to_the_payload(payload: bytes) -> None:
    assert unmask(client_frame(OP_TEXT, payload)) == (OP_TEXT, payload)


@given(st.binary(max_size=3000), st.binary(min_size=4, max_size=4))
def test_masking_is_the_bytewise_xor_with_the_key(payload: bytes, key: bytes) -> None:
    frame = client_frame(OP_TEXT, payload, key)
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert frame.endswith(key + expected)
    assert frame[2 if len(payload) < 126 else 4 :].startswith(key)


@given(st.binary(max_size=3000), st.binary(min_size=4, max_size=4))
def test_the_c_masking_equals_the_python_masking(payload: bytes, key: bytes) -> None:
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert python_mask(payload, key) == expected
    assert mask(payload, key) == expected


def test_masking_is_done_in_c() -> None:
    # websockets is a dependency for its C masking; its wheels for this platform have it.
    from websockets.speedups import apply_mask

    assert mask is apply_mask


def test_masking_keys_differ_between_frames() -> None:
    frames = {client_frame(OP_TEXT, b"REGISTER")[2:6] for _ in range(20)}
    assert len(frames) > 1


def test_the_prebuilt_keepalive_ping_and_its_pong() -> None:
    assert unmask(KEEPALIVE_PING) == (OP_PING, b"ka")
    assert FrameDecoder().feed(KEEPALIVE_PONG) == [(OP_PONG, b"ka")]


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5), st.integers(1, 50))
def test_messages_survive_any_split_of_the_byte_stream(parts: list[bytes], step: int) -> None:
    wire = b"".join(server_frame(OP_BINARY, p) for p in parts)
    decoder = FrameDecoder()
    got: list[tuple[int, bytes]] = []
    for i in range(0, len(wire), step):
        got.extend(decoder.feed(wire[i : i + step]))
    assert got == [(OP_BINARY, p) for p in parts]
    assert not decoder.pending


@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda first, payload, extra: (
                server_frame(first & 0x0F, payload, final=first > 127) + extra
            ),
            st.integers(0, 255),
            st.binary(max_size=70000),
            st.sampled_from([b"", b"\x81"]),
        ),
    ),
    st.binary(max_size=3),
)
def test_whole_message_is_what_the_decoder_gives_for_one_data_frame(
    data: bytes, held: bytes
) -> None:
    decoder = FrameDecoder(held)
    message = decoder.whole_message(data)
    if message is None:
        return
    assert not held
    frames = decoder.feed(data)
    assert frames == [(data[0] & 0x0F, message)] and frames[0][0] in (OP_TEXT, OP_BINARY)
    assert not decoder.pending


def test_whole_message_declines_what_the_decoder_must_see() -> None:
    text = server_frame(OP_TEXT, b"x" * 200)
    assert FrameDecoder().whole_message(text) == b"x" * 200
    assert FrameDecoder().whole_message(server_frame(OP_BINARY, b"abc")) == b"abc"
    assert FrameDecoder().whole_message(text[:-1]) is None  # cut short
    assert FrameDecoder().whole_message(text + b"\x81") is None  # more behind it
    assert FrameDecoder().whole_message(server_frame(OP_TEXT, b"ab", final=False)) is None
    assert FrameDecoder().whole_message(server_frame(OP_PING, b"ab")) is None
    assert FrameDecoder().whole_message(bytes((0xC1, 2)) + b"ab") is None  # RSV1
    assert FrameDecoder().whole_message(bytes((0x81, 0x82)) + b"keyzab") is None  # masked
    assert FrameDecoder().whole_message(server_frame(OP_TEXT, b"x" * 70000)) is None
    assert FrameDecoder(b"\x81").whole_message(text) is None  # part of a frame held back


def test_fragments_are_joined_and_control_frames_may_interleave() -> None:
    wire = (
        server_frame(OP_TEXT, b"SIP/2.0 ", final=False)
        + server_frame(OP_PING, b"x")
        + server_frame(OP_CONTINUATION, b"200 OK")
        + server_frame(OP_TEXT, b"x" * 70000)
    )
    assert FrameDecoder().feed(wire) == [
        (OP_PING, b"x"),
        (OP_TEXT, b"SIP/2.0 200 OK"),
        (OP_TEXT, b"x" * 70000),
    ]


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (bytes((0xC1, 0)), "reserved bits"),
        (bytes((0x81, 0x80)) + b"\0\0\0\0", "masked"),
        (server_frame(OP_CONTINUATION, b"x"), "continuation"),
        (server_frame(OP_TEXT, b"a", final=False) + server_frame(OP_TEXT, b"b"), "new message"),
        (server_frame(OP_PING, b"x", final=False), "control frame"),
        (server_frame(OP_CLOSE, b"x" * 126), "control frame"),
        (server_frame(0x3, b""), "unknown opcode"),
        (bytes((0x82, 127)) + (1 << 40).to_bytes(8, "big"), "too big"),
    ],
)
def test_framing_errors(wire: bytes, match: str) -> None:
    with pytest.raises(FramingError, match=match):
        FrameDecoder().feed(wire)


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70000])
def test_frame_heads_of_every_length_form(length: int) -> None:
    payload, key = bytes(range(256)) * (length // 256) + bytes(length % 256), b"\x01\x02\x03\x04"
    if length < 126:
        head = bytes((0x81, 0x80 | length))
    elif length < 65536:
        head = bytes((0x81, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + length.to_bytes(8, "big")
    assert client_frame(OP_TEXT, payload, key) == head + key + python_mask(payload, key)
    assert unmask(client_frame(OP_TEXT, payload)) == (OP_TEXT, payload)


def test_masking_keys_come_whole_across_pool_refills() -> None:
    keys = [client_frame(OP_PING, b"")[2:] for _ in range(3000)]  # more than one pool
    assert all(len(key) == 4 for key in keys)
    assert len(set(keys)) > 2900
