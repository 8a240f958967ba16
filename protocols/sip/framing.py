"""Cutting a byte stream (TCP, TLS) into SIP messages (RFC 3261 section 18.3).

On a stream every message must carry Content-Length; CRLFs between messages
are keep-alives (RFC 5626 section 4.4.1: a client pings with CRLFCRLF, the
server pongs with CRLF) and are skipped. Over WebSocket each frame is one
message (RFC 7118) and needs no framer.

The buffer is bounded: a header section that does not end within
``max_header_bytes``, or a body larger than ``max_body_bytes``, raises
``ParseError``. After any ``ParseError`` the stream cannot be re-synchronized
and its owner should close the connection.
"""

from __future__ import annotations

import re

from .errors import ParseError

_FOLD_RE = re.compile(rb"\r\n[ \t]+")
_CONTENT_LENGTH_RE = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r]*)", re.IGNORECASE)
_DIGITS_RE = re.compile(rb"[0-9]{1,10}")


class StreamFramer:
    def __init__(self, *, max_header_bytes: int = 16384, max_body_bytes: int = 1 << 20) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.keepalive_count = 0
        """CRLF keep-alives skipped so far (pings and pongs alike)."""
        self._buffer = bytearray()
        self._scanned = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Complete raw messages found after appending ``data``."""
        self._buffer += data
        messages: list[bytes] = []
        while True:
            message = self._next_message()
            if message is None:
                return messages
            messages.append(message)

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a message."""
        return len(self._buffer)

    def _next_message(self) -> bytes | None:
        buffer = self._buffer
        skipped = 0
        while buffer.startswith(b"\r\n", skipped):
            skipped += 2
        if skipped:
            del buffer[:skipped]
            self._scanned = 0
            self.keepalive_count += 1
        if not buffer or buffer == b"\r":
            return None
        end = buffer.find(b"\r\n\r\n", max(0, self._scanned - 3))
        if end < 0:
            if len(buffer) > self.max_header_bytes:
                raise ParseError(f"header section longer than {self.max_header_bytes} bytes")
            self._scanned = len(buffer)
            return None
        if end > self.max_header_bytes:
            raise ParseError(f"header section longer than {self.max_header_bytes} bytes")
        length = self._content_length(bytes(buffer[: end + 2]))
        total = end + 4 + length
        if len(buffer) < total:
            self._scanned = end
            return None
        message = bytes(buffer[:total])
        del buffer[:total]
        self._scanned = 0
        return message

    def _content_length(self, head: bytes) -> int:
        unfolded = _FOLD_RE.sub(b" ", head)
        values = {match.group(1).strip(b" \t") for match in _CONTENT_LENGTH_RE.finditer(unfolded)}
        if not values:
            raise ParseError("message on a stream transport without Content-Length")
        if len(values) > 1:
            raise ParseError("conflicting Content-Length values")
        value = values.pop()
        if _DIGITS_RE.fullmatch(value) is None:
            raise ParseError(f"invalid Content-Length {value[:20]!r}")
        length = int(value)
        if length > self.max_body_bytes:
            raise ParseError(f"body of {length} bytes exceeds {self.max_body_bytes}")
        return length
