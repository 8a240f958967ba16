"""A lean WebSocket client connection: our own upgrade handshake and frames.

Why not trio-websocket: it starts a reader task, a nursery and several buffers
for every connection, and a bare prototype on it held each registered account
for about 26 KB RSS, over the 20 KB budget. Here a plain ``ws://`` connection
to an IP address is one non-blocking socket, waited on with
``trio.lowlevel.wait_readable`` / ``wait_writable`` (no trio socket wrapper or
``SocketStream`` per account: each was memory and a few checkpoints per
message), plus a ``FrameDecoder``. An owner that watches the socket itself
(the account actor's ``ReadinessPoller``) opens it with ``PlainUpgrade`` and
reads with ``read_available`` and ``take`` instead. ``wss://`` and host names
go through a trio stream. The owner's single task calls ``receive`` and
``send_*``. Sending and receiving may happen in different tasks at the same
time, but never two senders: the owner serialises sends.
"""

from __future__ import annotations

import _socket
import binascii
import contextlib
import errno
import functools
import hashlib
import ipaddress
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import attrs
import trio

from kazoo_actors.websocket_frames import (
    KEEPALIVE_PAYLOAD,
    KEEPALIVE_PING,
    KEEPALIVE_PONG,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameDecoder,
    FramingError,
    client_frame,
    close_frame,
    random_bytes,
)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HANDSHAKE_BYTES = 16384
RECEIVE_BYTES = 65536
"""The most one read takes: a read that fills it may have left more in the socket."""
_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError)

_OPEN = 0
_CLOSED = 1

# Non-blocking from the start where the system allows it: one ioctl fewer per connection.
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)

RawSocket = _socket.socket
"""The C socket type under ``socket.socket``: a connection needs only its send, recv and
close, and the Python subclass adds two frames to every socket's creation and close."""


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

    @functools.cached_property
    def literal_family(self) -> int | None:
        """The address family when ``host`` is an IP literal (no name lookup needed)."""
        try:
            version = ipaddress.ip_address(self.host).version
        except ValueError:
            return None
        return socket.AF_INET6 if version == 6 else socket.AF_INET

    @functools.cached_property
    def upgrade_parts(self) -> dict[str, tuple[bytes, bytes]]:
        """This server's upgrade requests around their key, by subprotocol (``upgrade_request``).

        Kept on the URL, which ``parse_url`` shares: every connection of every account
        asks, and a cache keyed by the URL hashed its four fields in Python each time.
        """
        return {}


@functools.lru_cache(maxsize=64)
def parse_url(url: str) -> WebSocketUrl:
    """``WebSocketUrl.parse``, cached: every reconnect of every account parses the same few URLs."""
    return WebSocketUrl.parse(url)


class Received:
    """What one ``receive`` brought: whole messages, pongs, and whether the connection ended."""

    __slots__ = ("closed", "error", "messages", "pings", "pongs")

    def __init__(
        self,
        messages: Sequence[bytes] = (),
        *,
        pongs: int = 0,
        pings: int = 0,
        closed: bool = False,
        error: str | None = None,
    ) -> None:
        self.messages = messages
        """Payloads of text and binary messages (SIP parses bytes; text is not re-decoded)."""
        self.pongs = pongs
        self.pings = pings
        """Pings from the server (answered already): they prove it alive too."""
        self.closed = closed
        self.error = error
        """Why we failed the connection (the server broke the framing), if we did."""


_ONE_PONG = Received(pongs=1)
_ENDED = Received(closed=True)


def upgrade_request(url: WebSocketUrl, key: bytes, subprotocol: str) -> bytes:
    parts = url.upgrade_parts.get(subprotocol)
    if parts is None:
        parts = url.upgrade_parts[subprotocol] = _upgrade_parts(url, subprotocol)
    head, tail = parts
    return head + key + tail


def _upgrade_parts(url: WebSocketUrl, subprotocol: str) -> tuple[bytes, bytes]:
    """The upgrade request around its key, built once per server and subprotocol."""
    head = (
        f"GET {url.resource} HTTP/1.1\r\n"
        f"Host: {url.host_header}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: "
    )
    tail = f"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
    return head.encode("ascii"), tail.encode("ascii")


_HANDSHAKE_HEADERS = frozenset(("upgrade", "sec-websocket-accept", "sec-websocket-protocol"))


def check_upgrade_response(head: bytes, key: bytes, subprotocol: str) -> None:
    """Raise HandshakeRefused unless ``head`` (status line and headers) accepts our upgrade."""
    expected = binascii.b2a_base64(hashlib.sha1(key + _GUID).digest(), newline=False)
    if not _is_kamailio_acceptance(head, expected, subprotocol):
        check_upgrade_lines(head, expected.decode("ascii"), subprotocol)


# Kamailio's 101 to a SIP upgrade, which only its Sia value (our address as it sees it)
# and the accept vary from one connection to the next. Recognising it whole takes three
# C-level calls where the line-by-line check cost about 24,000 instructions.
_KAMAILIO_HEAD = b"HTTP/1.1 101 Switching Protocols\r\nSia: "
_KAMAILIO_MIDDLE = (
    b"\r\nSec-WebSocket-Protocol: sip"
    b"\r\nUpgrade: websocket"
    b"\r\nConnection: upgrade"
    b"\r\nSec-WebSocket-Accept: "
)
_KAMAILIO_TAIL = b"\r\nContent-Length: 0"


def _is_kamailio_acceptance(head: bytes, expected: bytes, subprotocol: str) -> bool:
    """Whether ``head`` is Kamailio's 101 accepting our ``sip`` upgrade, byte for byte,
    with ``expected`` as its accept. It only ever accepts: False leaves the answer, a
    refusal or any other server's spelling, to ``check_upgrade_lines``.
    """
    if subprotocol != "sip" or not head.startswith(_KAMAILIO_HEAD):
        return False
    # The Sia line ends at the first CRLF, as check_upgrade_lines would cut it.
    sia_end = head.find(b"\r\n", len(_KAMAILIO_HEAD))
    return sia_end > 0 and head[sia_end:] == _KAMAILIO_MIDDLE + expected + _KAMAILIO_TAIL


def check_upgrade_lines(head: bytes, expected: str, subprotocol: str) -> None:
    """``check_upgrade_response`` line by line, for any answer: ``expected`` is the
    Sec-WebSocket-Accept our key calls for."""
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
        name = name.strip().lower()
        if name in _HANDSHAKE_HEADERS:  # the rest (Server, Date, ...) is not ours to read
            headers[name] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise HandshakeRefused("upgrade response lacks 'Upgrade: websocket'")
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
        "_decoder",
        "_raw",
        "_sending",
        "_state",
        "_stream",
        "_trio_waited",
        "bytes_received",
        "bytes_sent",
    )

    def __init__(
        self,
        *,
        raw: RawSocket | None = None,
        stream: trio.abc.Stream | None = None,
        trailing_data: bytes = b"",
    ) -> None:
        if (raw is None) == (stream is None):
            raise ValueError("give exactly one of raw (a plain socket) and stream")
        # Exactly one of: the plain non-blocking socket, or a trio stream (TLS, names).
        self._raw = raw
        self._stream = stream
        self._state = _OPEN
        self._sending = False
        self._backlog = b""
        self._decoder = FrameDecoder(trailing_data)
        # Whether Trio's own epoll may know the socket (we waited through it): then it
        # must hear of the close first. A socket only our owner's poller watched need not.
        self._trio_waited = False
        self.bytes_sent = 0
        self.bytes_received = 0

    @property
    def open(self) -> bool:
        return self._state == _OPEN

    async def send_text(self, text: str | bytes) -> None:
        """Send one text message; bytes are taken as its UTF-8 encoding."""
        payload = text if isinstance(text, bytes) else text.encode("utf-8")
        if not self.send_text_nowait(payload):
            await self.flush()

    def send_text_nowait(self, text: bytes) -> bool:
        """``send_text`` without a coroutine: True when the kernel took the whole frame now.

        False when the frame (or its tail) has to wait, over a full socket or a
        stream: it is then queued, ahead of anything sent later, and ``await
        flush()`` sends it. Most messages go out at once, and the account
        actor sends every message from a synchronous handler.
        """
        frame = self._frame(OP_TEXT, text)
        raw = self._raw
        if raw is not None and not self._backlog and not self._sending:
            sent = self._send_some(raw, frame)
            if sent == len(frame):
                return True
            frame = frame[sent:]
        self._backlog += frame
        return False

    async def flush(self) -> None:
        """Send what ``send_text_nowait`` (or ``ping_nowait``) queued."""
        if self._backlog:
            await self._send(b"")

    async def ping(self, payload: bytes = KEEPALIVE_PAYLOAD) -> None:
        frame = KEEPALIVE_PING if payload == KEEPALIVE_PAYLOAD else None
        await self._send(frame or self._frame(OP_PING, payload))

    def _frame(self, opcode: int, payload: bytes) -> bytes:
        if self._state != _OPEN:
            raise WebSocketError("WebSocket is closed, cannot send")
        return client_frame(opcode, payload)

    async def receive(self) -> Received:
        """Wait for bytes from the server; returns once something arrived.

        Cancel-safe: a cancelled receive loses no data. A closed or broken
        connection gives ``Received(closed=True)``; it never raises for what
        the peer does.
        """
        if self._state != _OPEN:
            return _ENDED
        raw = self._raw
        if raw is None:
            data = await self._read_stream()
        else:
            self._trio_waited = True
            while True:
                try:
                    await trio.lowlevel.wait_readable(raw)
                    data = raw.recv(RECEIVE_BYTES)
                except BlockingIOError:
                    continue
                except (trio.ClosedResourceError, OSError):
                    data = b""
                break
        return await self.take(data)

    @property
    def raw_socket(self) -> RawSocket | None:
        """The plain socket, for an owner that waits for it in its own poller; None for a stream."""
        return self._raw

    def read_available(self) -> bytes | None:
        """What the plain socket holds now (at most ``RECEIVE_BYTES``), without waiting.

        None when it holds nothing; ``b""`` when the connection ended. Hand the
        bytes to ``take``.
        """
        if self._state != _OPEN:
            return b""
        assert self._raw is not None
        try:
            return self._raw.recv(RECEIVE_BYTES)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def take_whole(self, data: bytes) -> bytes | None:
        """The one message ``data`` holds when it is exactly one whole frame of it (the
        usual read); None, with nothing taken, for anything else: hand that to ``take``.

        Cheaper than ``take`` for the same result: no coroutine, no ``Received``.
        """
        message = self._decoder.whole_message(data)
        if message is not None:
            self.bytes_received += len(data)
        return message

    async def take(self, data: bytes) -> Received:
        """The frames in bytes read from the server; pings are answered, a close echoed."""
        self.bytes_received += len(data)
        if not data:
            self._state = _CLOSED
            return _ENDED
        if data == KEEPALIVE_PONG and not self._decoder.pending:
            return _ONE_PONG  # the common idle case, without the frame decoder
        try:
            frames = self._decoder.feed(data)
        except FramingError as exc:
            await self._fail(exc.close_code)
            return Received(closed=True, error=str(exc))
        messages: list[bytes] = []
        pongs = pings = 0
        for opcode, payload in frames:
            if opcode < OP_CLOSE:
                messages.append(payload)
            elif opcode == OP_PONG:
                pongs += 1
            elif opcode == OP_PING:
                pings += 1
                if not await self._try_send(client_frame(OP_PONG, payload)):
                    return Received(messages, pongs=pongs, pings=pings, closed=True)
            elif opcode == OP_CLOSE:
                # Echo the status code (RFC 6455 s.5.5.1), then we are done.
                await self._fail(int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1000)
                return Received(messages, pongs=pongs, pings=pings, closed=True)
        return Received(messages, pongs=pongs, pings=pings)

    def ping_nowait(self, payload: bytes = KEEPALIVE_PAYLOAD) -> bool:
        """Send a ping now, without waiting; False when that is not possible at the moment.

        Possible only over a plain socket and while no ``send`` is suspended
        mid-way (two writers would interleave their bytes). A ping the kernel
        takes only in part leaves its tail for the next send: order is all that
        matters.
        """
        raw = self._raw
        if raw is None or self._sending or self._backlog or self._state != _OPEN:
            return False
        data = KEEPALIVE_PING if payload == KEEPALIVE_PAYLOAD else client_frame(OP_PING, payload)
        try:
            sent = raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return False
        if sent < len(data):
            self._backlog = data[sent:]
        self.bytes_sent += sent
        return True

    async def aclose(self, code: int = 1000) -> None:
        """Close politely when we still can; always releases the socket."""
        if self.close_nowait(code):
            return
        if self._state == _OPEN:
            self._state = _CLOSED
            frame = self._backlog + close_frame(code)
            self._backlog = b""
            await self._stream_send_briefly(frame)
        await self._release()

    def close_nowait(self, code: int = 1000) -> bool:
        """``aclose`` for a plain socket, which never waits; False (and nothing done) for a stream.

        Its owner then needs no shielded scope around the close.
        """
        raw = self._raw
        if raw is None:
            return False
        if self._state == _OPEN:
            self._state = _CLOSED
            frame = self._backlog + close_frame(code)
            self._backlog = b""
            # Best effort and without waiting: a close frame is a few bytes.
            with contextlib.suppress(OSError):
                raw.send(frame)
        self._release_raw(raw)
        return True

    async def _fail(self, code: int) -> None:
        """Send a close frame with ``code`` (best effort) and release the connection."""
        if self._state == _OPEN:
            self._state = _CLOSED
            await self._try_send(close_frame(code))
        await self._release()

    async def _release(self) -> None:
        self._state = _CLOSED
        raw = self._raw
        if raw is not None:
            self._release_raw(raw)
            return
        assert self._stream is not None
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await self._stream.aclose()
        if scope.cancelled_caught:
            await trio.aclose_forcefully(self._stream)

    def _release_raw(self, raw: RawSocket) -> None:
        self._state = _CLOSED
        if raw.fileno() >= 0:
            if self._trio_waited:
                trio.lowlevel.notify_closing(raw)
            raw.close()

    async def _stream_send_briefly(self, frame: bytes) -> None:
        assert self._stream is not None
        with trio.move_on_after(1) as scope:
            scope.shield = True
            with contextlib.suppress(*_BROKEN):
                await self._stream.send_all(frame)

    async def _try_send(self, data: bytes) -> bool:
        try:
            await self._send(data)
        except WebSocketError:
            self._state = _CLOSED
            return False
        return True

    async def _read_stream(self) -> bytes:
        assert self._stream is not None
        try:
            return bytes(await self._stream.receive_some(RECEIVE_BYTES))
        except _BROKEN:
            return b""

    async def _send(self, data: bytes) -> None:
        if self._backlog:
            data, self._backlog = self._backlog + data, b""
        raw = self._raw
        if raw is None:
            assert self._stream is not None
            self._sending = True
            try:
                await self._stream.send_all(data)
            except _BROKEN as exc:
                raise WebSocketError(f"WebSocket send failed: {exc!r}") from exc
            finally:
                self._sending = False
            self.bytes_sent += len(data)
            return
        # Plain socket: the kernel nearly always takes a SIP message whole at
        # once, so try first and wait (and checkpoint) only when it is full.
        while data:
            data = data[self._send_some(raw, data) :]
            if data:
                self._sending = self._trio_waited = True
                try:
                    await trio.lowlevel.wait_writable(raw)
                except (trio.ClosedResourceError, OSError) as exc:
                    raise WebSocketError(f"WebSocket send failed: {exc!r}") from exc
                finally:
                    self._sending = False

    def _send_some(self, raw: RawSocket, data: bytes) -> int:
        """What the kernel takes of ``data`` now, without waiting (0 when its buffer is full)."""
        try:
            sent = raw.send(data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            raise WebSocketError(f"WebSocket send failed: {exc!r}") from exc
        self.bytes_sent += sent
        return sent


def handshake_key() -> bytes:
    """A Sec-WebSocket-Key: 16 random bytes, base64 (a nonce, not a secret; RFC 6455 s.4.1)."""
    return binascii.b2a_base64(random_bytes(16), newline=False)


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
    target = url if isinstance(url, WebSocketUrl) else parse_url(url)
    family = target.literal_family
    if family is not None and not target.secure:
        return await _open_plain(target, family, subprotocol)
    stream: trio.abc.Stream
    try:
        stream = await trio.open_tcp_stream(target.host, target.port)
    except OSError as exc:
        raise WebSocketError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
    try:
        if target.secure:
            context = ssl_context or default_ssl_context()
            stream = trio.SSLStream(stream, context, server_hostname=target.host)
            await stream.do_handshake()
        key = handshake_key()
        await stream.send_all(upgrade_request(target, key, subprotocol))
        head, rest = await _read_head(stream.receive_some)
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
    return WebSocketConnection(stream=stream, trailing_data=rest)


class PlainUpgrade:
    """A ws:// upgrade on a socket of our own, advanced without waiting by whoever waits for it.

    ``open_websocket`` drives it with Trio's socket waits. An account actor drives
    it from its one wait (``ReadinessPoller``), where a command or a deadline can
    wake it without aborting the upgrade. No frame goes out before the 101: the
    connection exists only once the answer was checked.
    """

    __slots__ = ("_buffer", "_key", "_request", "_subprotocol", "_target", "connecting", "sock")

    def __init__(self, target: WebSocketUrl, family: int, subprotocol: str = "sip") -> None:
        sock = RawSocket(family, socket.SOCK_STREAM | _NONBLOCK)
        if not _NONBLOCK:
            sock.setblocking(False)
        try:
            error = sock.connect_ex((target.host, target.port))
            if error not in (0, errno.EINPROGRESS):
                raise OSError(error, os.strerror(error))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            raise WebSocketError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
        self.sock = sock
        self._target = target
        self._subprotocol = subprotocol
        self._key = handshake_key()
        self._request = upgrade_request(target, self._key, subprotocol)
        self._buffer = b""
        self.connecting = True
        """Until the upgrade request went out: wait for the socket to be writable."""

    def advance(self) -> WebSocketConnection | None:
        """Do what the socket allows now; the connection once the server accepted the upgrade.

        None while more is needed: wait until ``sock`` is writable while
        ``connecting``, readable after (this read to its end: only new data
        makes it readable again). Raises WebSocketError, HandshakeRefused when
        the server answered but not with a proper 101.
        """
        sock = self.sock
        target = self._target
        if self.connecting:
            # Sending is how we learn the connect's outcome: over loopback it is usually
            # complete already, which saves a wait and a second connect() call.
            try:
                sent = sock.send(self._request)
            except BlockingIOError:
                return None
            except OSError as exc:
                raise WebSocketError(
                    f"cannot connect to {target.host}:{target.port}: {exc}"
                ) from exc
            if sent != len(self._request):
                # A few hundred bytes into an empty socket buffer are taken whole.
                raise HandshakeRefused("could not send the upgrade request at once")
            self.connecting = False
            return None  # the answer cannot be there yet
        buffer = self._buffer
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _MAX_HANDSHAKE_BYTES:
                raise HandshakeRefused("upgrade response headers too long")
            try:
                chunk = sock.recv(4096)
            except BlockingIOError:
                self._buffer = buffer
                return None
            except OSError as exc:
                raise WebSocketError(
                    f"WebSocket handshake with {target.host} failed: {exc}"
                ) from exc
            if not chunk:
                raise HandshakeRefused("server closed the connection during the upgrade")
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        check_upgrade_response(head, self._key, self._subprotocol)
        return WebSocketConnection(raw=sock, trailing_data=rest)

    def abandon(self) -> None:
        """Close the socket of an upgrade that will not complete."""
        self.sock.close()


async def _open_plain(target: WebSocketUrl, family: int, subprotocol: str) -> WebSocketConnection:
    """ws:// to an IP literal: one socket of our own, no happy-eyeballs nursery, no wrappers."""
    upgrade = PlainUpgrade(target, family, subprotocol)
    try:
        while (connection := upgrade.advance()) is None:
            if upgrade.connecting:
                await trio.lowlevel.wait_writable(upgrade.sock)
            else:
                await trio.lowlevel.wait_readable(upgrade.sock)
    except BaseException:
        trio.lowlevel.notify_closing(upgrade.sock)
        upgrade.abandon()
        raise
    connection._trio_waited = True
    return connection


async def _read_head(
    receive_some: Callable[[int], Awaitable[bytes | bytearray]],
) -> tuple[bytes, bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HANDSHAKE_BYTES:
            raise HandshakeRefused("upgrade response headers too long")
        chunk = await receive_some(4096)
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
