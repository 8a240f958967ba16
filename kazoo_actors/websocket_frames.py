"""RFC 6455 frames for a client: masked frames out, the server's frames in (sans-IO).

Why not wsproto's frame layer: per message it builds event objects, checks
UTF-8 incrementally and masks byte by byte through several layers; at
thousands of registrations per second that was a tenth of the engine's CPU.
A SIP client needs only whole text/binary messages, ping, pong and close.

Masking keys are cut from a pool of ``os.urandom`` bytes refilled 4 KiB at a
time: RFC 6455 s.5.3 requires keys from a strong source of entropy (a peer
sees every key in the frame header, so a seeded PRNG's state could be
recovered from them), and one system call per 1,024 frames keeps that cheap.
The keep-alive ping is one frame built once (its payload is our constant,
nothing a third party chooses).
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Callable, Iterator

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

MAX_MESSAGE_BYTES = 1 << 20
"""A message (all its fragments) larger than this fails the connection."""

_POOL_BYTES = 4096
_pool = b""
_pool_at = 0
_DATA_OPCODES = (OP_TEXT, OP_BINARY)
_CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)


class FramingError(Exception):
    """The server broke RFC 6455 framing; the connection cannot be trusted any more."""

    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message)
        self.close_code = close_code


def random_bytes(count: int) -> bytes:
    """Bytes from the operating system's generator, pooled to spare system calls."""
    global _pool, _pool_at
    if _pool_at + count > len(_pool):
        _pool, _pool_at = os.urandom(max(_POOL_BYTES, count)), 0
    start, _pool_at = _pool_at, _pool_at + count
    return _pool[start:_pool_at]


# Masking keys cut from one pool up front: taking the next is a next() on a list
# iterator, where a call to random_bytes per frame cost a few thousand instructions.
_KEY_BYTES = 4
_keys: Iterator[bytes] = iter(())


def _refill_keys() -> bytes:
    """Cut a fresh pool into keys; the first of them."""
    global _keys
    pool = os.urandom(_POOL_BYTES)
    _keys = iter([pool[at : at + _KEY_BYTES] for at in range(0, _POOL_BYTES, _KEY_BYTES)])
    return next(_keys)


def mask_key() -> bytes:
    return next(_keys, None) or _refill_keys()


# The frame head with the masking key, packed in one call per frame.
_HEAD_7 = struct.Struct("!BB4s").pack
_HEAD_16 = struct.Struct("!BBH4s").pack
_HEAD_64 = struct.Struct("!BBQ4s").pack


def client_frame(opcode: int, payload: bytes, key: bytes | None = None) -> bytes:
    """One final, masked frame carrying ``payload``."""
    if key is None:
        key = mask_key()
    length = len(payload)
    if length < 126:
        head = _HEAD_7(0x80 | opcode, 0x80 | length, key)
    elif length < 65536:
        head = _HEAD_16(0x80 | opcode, 0x80 | 126, length, key)
    else:
        head = _HEAD_64(0x80 | opcode, 0x80 | 127, length, key)
    if not length:
        return head
    return head + mask(payload, key)


def python_mask(payload: bytes, key: bytes) -> bytes:
    """``payload`` XOR ``key`` repeated (RFC 6455 s.5.3), without C help."""
    length = len(payload)
    if not length:
        return b""
    # XOR as one big integer: a few C calls instead of a Python loop per byte. The key
    # repeated over the payload is the key times 1 in every 32-bit word (no carries),
    # cut to the payload's length: no padding bytes built and converted per frame.
    repeat, cut = _repetition(length)
    pad = int.from_bytes(key, "little") * repeat & cut
    return (int.from_bytes(payload, "little") ^ pad).to_bytes(length, "little")


mask: Callable[[bytes, bytes], bytes]
"""Mask a payload with a 4-byte key: the C version where there is one."""
try:
    # The websockets package's C masking: a 650-byte REGISTER costs about 1,400
    # instructions there against about 24,000 in python_mask, most of which is
    # converting the payload to an int and back.
    from websockets.speedups import apply_mask as mask
except ImportError:  # a platform where websockets comes without its C speedups
    mask = python_mask


@functools.lru_cache(maxsize=4096)
def _repetition(length: int) -> tuple[int, int]:
    """For a ``length``-byte payload: 1 in each 32-bit word covering it, and its bit mask."""
    return int.from_bytes(b"\1\0\0\0" * (length // 4 + 1), "little"), (1 << 8 * length) - 1


KEEPALIVE_PAYLOAD = b"ka"
KEEPALIVE_PING = client_frame(OP_PING, KEEPALIVE_PAYLOAD)
KEEPALIVE_PONG = bytes((0x80 | OP_PONG, len(KEEPALIVE_PAYLOAD))) + KEEPALIVE_PAYLOAD
"""The server's answer to ``KEEPALIVE_PING`` (unmasked, RFC 6455 s.5.5.3), recognised as is."""


def close_frame(code: int) -> bytes:
    return client_frame(OP_CLOSE, code.to_bytes(2, "big"))


class FrameDecoder:
    """Bytes from the server in; ``(opcode, payload)`` out for whole messages and control frames.

    Fragments are joined (the result carries the first frame's opcode). Raises
    ``FramingError`` for what RFC 6455 says must fail the connection.
    """

    __slots__ = ("_buffer", "_fragment_opcode", "_fragments", "_fragments_size")

    def __init__(self, initial: bytes = b"") -> None:
        self._buffer = initial
        self._fragments: list[bytes] | None = None
        self._fragment_opcode = 0
        self._fragments_size = 0

    @property
    def pending(self) -> bool:
        """Whether part of a frame or of a fragmented message is held back."""
        return bool(self._buffer) or self._fragments is not None

    def whole_message(self, data: bytes) -> bytes | None:
        """The payload when nothing is held back and ``data`` is exactly one final,
        unmasked text or binary frame under 64 KiB; None for anything else (``feed`` it).

        Nearly every read from a SIP server is one such frame: this is what ``feed``
        would give for it, without its loop, its buffer and its lists.
        """
        size = len(data)
        if size < 4 or self._buffer or self._fragments is not None:
            return None
        first, length = data[0], data[1]
        if first != 0x81 and first != 0x82:  # also: reserved bits, fragments, control
            return None
        if length == 126:  # the usual SIP message: a 16-bit length
            return data[4:] if (data[2] << 8 | data[3]) + 4 == size else None
        if length < 126:
            return data[2:] if length + 2 == size else None
        return None  # a 64-bit length, or masked (the decoder refuses it)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buffer = self._buffer + data if self._buffer else data
        out: list[tuple[int, bytes]] = []
        position = 0
        size = len(buffer)
        while size - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            if first & 0x70:
                raise FramingError("reserved bits set without a negotiated extension")
            if second & 0x80:
                raise FramingError("the server masked a frame (RFC 6455 s.5.1)")
            length = second & 0x7F
            start = position + 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[start : start + 2], "big")
                start += 2
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[start : start + 8], "big")
                start += 8
            if length > MAX_MESSAGE_BYTES:
                raise FramingError(f"a frame of {length} bytes is too big", 1009)
            end = start + length
            if end > size:
                break
            self._frame(first, buffer[start:end], out)
            position = end
        self._buffer = buffer[position:] if position < size else b""
        return out

    def _frame(self, first: int, payload: bytes, out: list[tuple[int, bytes]]) -> None:
        opcode = first & 0x0F
        final = bool(first & 0x80)
        if opcode in _CONTROL_OPCODES:
            if not final or len(payload) > 125:
                raise FramingError("a control frame must be final and at most 125 bytes")
            out.append((opcode, payload))
        elif opcode in _DATA_OPCODES:
            if self._fragments is not None:
                raise FramingError("a new message began before the last one ended")
            if final:
                out.append((opcode, payload))
            else:
                self._fragments = [payload]
                self._fragment_opcode = opcode
                self._fragments_size = len(payload)
        elif opcode == OP_CONTINUATION:
            fragments = self._fragments
            if fragments is None:
                raise FramingError("a continuation frame without a message to continue")
            fragments.append(payload)
            self._fragments_size += len(payload)
            if self._fragments_size > MAX_MESSAGE_BYTES:
                raise FramingError("a fragmented message grew too big", 1009)
            if final:
                self._fragments = None
                out.append((self._fragment_opcode, b"".join(fragments)))
        else:
            raise FramingError(f"unknown opcode {opcode:#x}")
