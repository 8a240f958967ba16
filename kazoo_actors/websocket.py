"""A lean WebSocket client connection: our own upgrade handshake, wsproto's frames.

Why not trio-websocket: it starts a reader task, a nursery and several buffers
for every connection, and a bare prototype on it held each registered account
for about 26 KB RSS, over the 20 KB budget. Here a connection is one stream and
one ``wsproto.connection.Connection`` (the frame layer only, no h11 after the
handshake); the owner's single task calls ``receive`` and ``send_*``. Sending
and receiving may happen in different tasks at the same time (Trio streams
allow one of each), but never two senders: the owner serialises sends.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import socket
import ssl
from urllib.parse import urlsplit

import attrs
import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HANDSHAKE_BYTES = 16384
_MAX_MESSAGE_BYTES = 1 << 20
_RECEIVE_BYTES = 65536


class WebSocketError(Exception):
    """The WebSocket could not be opened, or broke while in use."""


class HandshakeRefused(WebSocketError):
    """The server answered the upgrade, but not as RFC 6455/7118 require."""


@attrs.frozen(kw_only=True)
class WebSocketUrl:
    secure: bool
    host: str
    port: int
    resource: str

    @classmethod
    def parse(cls, url: str) -> WebSocketUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a ws:// or wss:// URL: {url!r}")
        secure = parts.scheme == "wss"
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(
            secure=secure,
            host=parts.hostname,
            port=parts.port or (443 if secure else 80),
            resource=resource,
        )

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"


@attrs.frozen(kw_only=True)
class Received:
    """What one ``receive`` call brought: whole messages, pongs, and whether the peer closed."""

    messages: list[str | bytes]
    pongs: int = 0
    pings: int = 0
    """Pings from the server (answered already): they prove it alive too."""
    closed: bool = False


def upgrade_request(url: WebSocketUrl, key: bytes, subprotocol: str) -> bytes:
    return (
        f"GET {url.resource} HTTP/1.1\r\n"
        f"Host: {url.host_header}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode('ascii')}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {subprotocol}\r\n"
        "\r\n"
    ).encode("ascii")


def check_upgrade_response(head: bytes, key: bytes, subprotocol: str) -> None:
    """Raise HandshakeRefused unless ``head`` (status line and headers) accepts our upgrade."""
    try:
        text = head.decode("latin-1")
        status_line, *header_lines = text.split("\r\n")
        version, code, *_ = status_line.split(" ", 2)
    except ValueError as exc:
        raise HandshakeRefused(f"malformed upgrade response {head[:80]!r}") from exc
    if not version.startswith("HTTP/1.") or code != "101":
        raise HandshakeRefused(f"server refused the WebSocket upgrade: {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeRefused(f"malformed header line in upgrade response: {line!r}")
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise HandshakeRefused("upgrade response lacks 'Upgrade: websocket'")
    expected = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode("ascii")
    if headers.get("sec-websocket-accept") != expected:
        raise HandshakeRefused("upgrade response has a wrong Sec-WebSocket-Accept")
    offered = headers.get("sec-websocket-protocol")
    if offered != subprotocol:
        raise HandshakeRefused(
            f"server did not accept the {subprotocol!r} WebSocket subprotocol "
            f"(RFC 7118); it answered {offered!r}"
        )


class WebSocketConnection:
    """One open client WebSocket. Build it with ``open_websocket``."""

    __slots__ = (
        "_backlog",
        "_conn",
        "_fragments",
        "_raw",
        "_sending",
        "_stream",
        "bytes_received",
        "bytes_sent",
    )

    def __init__(
        self, stream: trio.abc.Stream, conn: Connection, raw: socket.socket | None = None
    ) -> None:
        self._stream = stream
        self._conn = conn
        # The plain TCP socket under ``stream`` (None for TLS): lets ``ping_nowait``
        # send a ping without a task switch when no send is in progress.
        self._raw = raw
        self._sending = False
        self._backlog = b""
        self._fragments: list[str | bytes] | None = None
        self.bytes_sent = 0
        self.bytes_received = 0

    @property
    def open(self) -> bool:
        return self._conn.state is ConnectionState.OPEN

    async def send_text(self, text: str) -> None:
        await self._send(self._frame(TextMessage(data=text)))

    async def ping(self, payload: bytes = b"") -> None:
        await self._send(self._frame(Ping(payload=payload)))

    def _frame(self, event: TextMessage | Ping) -> bytes:
        if self._conn.state is not ConnectionState.OPEN:
            raise WebSocketError(f"WebSocket is {self._conn.state.name.lower()}, cannot send")
        return self._conn.send(event)

    async def receive(self) -> Received:
        """Wait for bytes from the server; returns once something arrived.

        Cancel-safe: a cancelled receive loses no data. A closed or broken
        stream gives ``Received(closed=True)``; it never raises for what the
        peer does.
        """
        try:
            data = await self._stream.receive_some(_RECEIVE_BYTES)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError):
            data = b""
        self.bytes_received += len(data)
        if self._conn.state is ConnectionState.CLOSED:
            return Received(messages=[], closed=True)
        self._conn.receive_data(bytes(data) if data else None)
        messages: list[str | bytes] = []
        pongs = 0
        pings = 0
        closed = False
        for event in self._conn.events():
            if isinstance(event, TextMessage | BytesMessage):
                whole = self._assemble(event)
                if whole is not None:
                    messages.append(whole)
            elif isinstance(event, Ping):
                pings += 1
                await self._send(self._conn.send(event.response()))
            elif isinstance(event, Pong):
                pongs += 1
            elif isinstance(event, CloseConnection):
                closed = True
                if self._conn.state is ConnectionState.REMOTE_CLOSING:
                    await self._send(self._conn.send(event.response()))
        return Received(messages=messages, pongs=pongs, pings=pings, closed=closed)

    def ping_nowait(self, payload: bytes = b"") -> bool:
        """Send a ping now, without waiting; False when that is not possible at the moment.

        Possible only over plain TCP and while no ``send`` is suspended mid-way
        (two writers would interleave their bytes). A ping the kernel takes only
        in part leaves its tail for the next send: order is all that matters.
        """
        if self._raw is None or self._sending or self._backlog or not self.open:
            return False
        data = self._conn.send(Ping(payload=payload))
        try:
            sent = self._raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return False
        self._backlog = data[sent:]
        self.bytes_sent += sent
        return True

    async def aclose(self, code: int = 1000) -> None:
        """Close politely when we still can; always releases the stream."""
        with trio.move_on_after(1) as scope:
            scope.shield = True
            if self._conn.state is ConnectionState.OPEN:
                await self._send(self._conn.send(CloseConnection(code=code)))
            await self._stream.aclose()
        if scope.cancelled_caught:
            await trio.aclose_forcefully(self._stream)

    def _assemble(self, event: TextMessage | BytesMessage) -> str | bytes | None:
        data = event.data if isinstance(event.data, str) else bytes(event.data)
        if event.message_finished and self._fragments is None:
            return data
        parts = self._fragments if self._fragments is not None else []
        parts.append(data)
        if sum(len(p) for p in parts) > _MAX_MESSAGE_BYTES:
            # A peer that never ends a message must not grow us without bound.
            self._fragments = None
            return None
        if not event.message_finished:
            self._fragments = parts
            return None
        self._fragments = None
        if isinstance(event, TextMessage):
            return "".join(p for p in parts if isinstance(p, str))
        return b"".join(p for p in parts if isinstance(p, bytes))

    async def _send(self, data: bytes) -> None:
        if self._backlog:
            data, self._backlog = self._backlog + data, b""
        self._sending = True
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError) as exc:
            raise WebSocketError(f"WebSocket send failed: {exc!r}") from exc
        finally:
            self._sending = False
        self.bytes_sent += len(data)


async def open_websocket(
    url: str | WebSocketUrl,
    *,
    subprotocol: str = "sip",
    ssl_context: ssl.SSLContext | None = None,
) -> WebSocketConnection:
    """Connect, upgrade and return the connection; raise WebSocketError when that fails.

    The caller bounds the time with a cancel scope. For ``wss://`` without an
    explicit context, certificates are verified with the system's trust store.
    """
    target = url if isinstance(url, WebSocketUrl) else WebSocketUrl.parse(url)
    stream: trio.abc.Stream
    try:
        stream, raw = await _open_tcp(target.host, target.port)
    except OSError as exc:
        raise WebSocketError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
    try:
        if target.secure:
            context = ssl_context or default_ssl_context()
            stream = trio.SSLStream(stream, context, server_hostname=target.host)
            await stream.do_handshake()
        key = base64.b64encode(os.urandom(16))
        await stream.send_all(upgrade_request(target, key, subprotocol))
        head, rest = await _read_head(stream)
        check_upgrade_response(head, key, subprotocol)
    except BaseException as exc:
        await trio.aclose_forcefully(stream)
        if isinstance(exc, trio.BrokenResourceError | ssl.SSLError | OSError):
            # trio wraps TLS failures (a refused certificate) as BrokenResourceError.
            detail = exc.__cause__ if exc.__cause__ is not None else exc
            raise WebSocketError(
                f"WebSocket handshake with {target.host} failed: {detail}"
            ) from exc
        raise
    return WebSocketConnection(
        stream,
        Connection(ConnectionType.CLIENT, trailing_data=rest),
        raw=None if target.secure else raw,
    )


async def _open_tcp(host: str, port: int) -> tuple[trio.abc.Stream, socket.socket | None]:
    """A connected stream, and for an IP literal its plain socket.

    ``trio.open_tcp_stream`` runs happy-eyeballs in a nursery even for a literal
    address; at thousands of connects per second that nursery is measurable. For
    a literal we connect a socket of our own and keep it for ``ping_nowait``.
    """
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return await trio.open_tcp_stream(host, port), None
    raw = socket.socket(family, socket.SOCK_STREAM)
    raw.setblocking(False)
    sock = trio.socket.from_stdlib_socket(raw)
    try:
        await sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return trio.SocketStream(sock), raw


async def _read_head(stream: trio.abc.Stream) -> tuple[bytes, bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HANDSHAKE_BYTES:
            raise HandshakeRefused("upgrade response headers too long")
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise HandshakeRefused("server closed the connection during the upgrade")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


_DEFAULT_CONTEXT: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """One verifying context shared by every connection (a context per socket costs memory)."""
    global _DEFAULT_CONTEXT
    if _DEFAULT_CONTEXT is None:
        _DEFAULT_CONTEXT = ssl.create_default_context()
    return _DEFAULT_CONTEXT


def insecure_ssl_context() -> ssl.SSLContext:
    """For ``verify_tls=False``: encryption without checking who answers."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
