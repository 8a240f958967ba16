"""SIP over WebSocket (RFC 7118): one connection, its keep-alives, its bad input dropped.

The transport is driven by its account's task instead of running a task of its
own: at 10,000 accounts every task (about 1.8 KB) and memory channel (about
1.9 KB) per account is a tenth of the 20 KB budget. The account actor calls
``receive`` in its one wait and ``send`` from its handlers.

Keep-alive: a WebSocket ping after ``keepalive_interval`` seconds of silence;
a pong (or any other traffic) must come back within ``pong_timeout`` or the
connection counts as dead (RFC 6455 5.5.2 makes every server answer pings,
Kamailio included). That bounds dead-server detection at interval + timeout.
The timing lives here (``keepalive_due``, ``keepalive_step``) but is driven by
the engine's one ``KeepaliveScheduler``: waking 10,000 account tasks for their
own ping timers measured about 0.4 ms of CPU per ping and pong.
"""

from __future__ import annotations

import enum
import logging
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio
from sipmessage import Request, Response

from kazoo_actors.actors.readiness_poller import Owner, ReadinessPoller, Watch
from kazoo_actors.websocket import (
    RECEIVE_BYTES,
    PlainUpgrade,
    Received,
    WebSocketConnection,
    WebSocketError,
    default_ssl_context,
    insecure_ssl_context,
    open_websocket,
    parse_url,
)
from protocols.sip.errors import ParseError
from protocols.sip.message import parse_message

log = logging.getLogger("kazoo_actors.transport")

SipMessage = Request | Response


class TransportError(Exception):
    """The WebSocket to the SIP server could not be opened or broke."""


class KeepaliveStep(enum.Enum):
    WAITING = "nothing due"
    PINGED = "ping sent"
    OWNER_MUST_PING = "the owner's task must send the ping"
    DEAD = "the pong did not come in time"
    CLOSED = "the connection is closed"


class Inbound:
    """What one receive brought: parsed messages and whether the connection ended.

    A plain slotted class rather than a frozen attrs class: one is built for every
    message of every account, and a frozen class sets each field through
    ``object.__setattr__``. Treat it as read-only.
    """

    __slots__ = ("closed", "messages")

    def __init__(self, *, messages: Sequence[SipMessage], closed: bool = False) -> None:
        self.messages = messages
        self.closed = closed

    def __repr__(self) -> str:
        return f"Inbound(messages={self.messages!r}, closed={self.closed!r})"


_QUIET = Inbound(messages=())
_ENDED = Inbound(messages=(), closed=True)


@attrs.define(kw_only=True)
class TransportStatistics:
    messages_sent: int = 0
    messages_received: int = 0
    malformed_dropped: int = 0
    pings_sent: int = 0
    pongs_received: int = 0


class SipTransport:
    """One account's WebSocket to its server, with keep-alive deadlines."""

    __slots__ = (
        "_account",
        "_ws",
        "keepalive_interval",
        "last_traffic",
        "owner",
        "ping_sent_at",
        "pong_timeout",
        "stats",
        "watch",
    )

    def __init__(
        self,
        ws: WebSocketConnection,
        *,
        account: str,
        keepalive_interval: float,
        pong_timeout: float,
        now: float,
        stats: TransportStatistics | None = None,
    ) -> None:
        self._ws = ws
        self._account = account
        self.keepalive_interval = keepalive_interval
        self.pong_timeout = pong_timeout
        self.last_traffic = now
        self.ping_sent_at: float | None = None
        self.stats = stats or TransportStatistics()
        self.owner: Any = None
        """Whoever the keep-alive scheduler reports to (the account actor's mailbox)."""
        self.watch: Watch | None = None
        """The socket's place in its owner's poller; None when the owner waits in ``receive``."""

    @property
    def open(self) -> bool:
        return self._ws.open

    @property
    def pong_deadline(self) -> float | None:
        return None if self.ping_sent_at is None else self.ping_sent_at + self.pong_timeout

    def keepalive_due(self) -> float:
        """When keep-alive work is next due: the pong deadline, else the next ping."""
        if self.ping_sent_at is not None:
            return self.ping_sent_at + self.pong_timeout
        return self.last_traffic + self.keepalive_interval

    def keepalive_step(self, now: float) -> KeepaliveStep:
        """Do what is due at ``now`` without waiting: ping, or declare the server dead."""
        if not self._ws.open:
            return KeepaliveStep.CLOSED
        if self.ping_sent_at is not None:
            if now >= self.ping_sent_at + self.pong_timeout:
                log.info("account %s: no pong within %.1f s", self._account, self.pong_timeout)
                return KeepaliveStep.DEAD
            return KeepaliveStep.WAITING
        if now < self.last_traffic + self.keepalive_interval:
            return KeepaliveStep.WAITING
        if not self._ws.ping_nowait():
            return KeepaliveStep.OWNER_MUST_PING
        self.stats.pings_sent += 1
        self.ping_sent_at = now
        return KeepaliveStep.PINGED

    async def ping(self) -> None:
        """The slow path of ``keepalive_step`` (TLS, or a send in progress), in the owner's task."""
        if self.ping_sent_at is not None:
            return
        try:
            await self._ws.ping()
        except WebSocketError as exc:
            raise TransportError(str(exc)) from exc
        self.stats.pings_sent += 1
        self.ping_sent_at = trio.current_time()

    async def send(self, message: SipMessage) -> None:
        if not self.send_nowait(message):
            await self.flush()

    def send_nowait(self, message: SipMessage) -> bool:
        """``send`` without waiting: True when the message went out at once (the usual
        case), False when it is queued: ``await flush()`` then sends it."""
        try:
            # Our own messages are UTF-8 already: no decode and re-encode per send.
            done = self._ws.send_text_nowait(bytes(message))
        except WebSocketError as exc:
            raise TransportError(str(exc)) from exc
        self.stats.messages_sent += 1
        return done

    async def flush(self) -> None:
        """Send what ``send_nowait`` queued."""
        try:
            await self._ws.flush()
        except WebSocketError as exc:
            raise TransportError(str(exc)) from exc

    async def receive(self, now_fn: Callable[[], float] = trio.current_time) -> Inbound:
        """Wait for the next frames; cancel-safe (nothing is lost when cancelled)."""
        return self._inbound(await self._ws.receive(), now_fn())

    async def receive_ready(self, now: float) -> Inbound:
        """Read, without waiting, what the socket ``watch`` says is there (at time ``now``)."""
        watch = self.watch
        assert watch is not None
        data = self._ws.read_available()
        # Ready until a read comes back short: only data arriving later raises a new edge.
        watch.ready = data is not None and len(data) >= RECEIVE_BYTES
        if data is None:
            return _QUIET
        message = self._ws.take_whole(data)
        if message is not None:  # the usual read: one message, nothing else
            self._heard_from_server(now)
            return Inbound(messages=self._parse((message,)))
        return self._inbound(await self._ws.take(data), now)

    def _heard_from_server(self, now: float) -> None:
        # Any traffic proves the server alive; postpone the next ping.
        self.ping_sent_at = None
        self.last_traffic = now

    def _inbound(self, received: Received, now: float) -> Inbound:
        if received.messages or received.pongs or received.pings:
            self._heard_from_server(now)
        self.stats.pongs_received += received.pongs
        if received.error is not None:
            log.warning(
                "account %s: the server broke WebSocket framing: %s", self._account, received.error
            )
        if not received.messages:
            return _ENDED if received.closed else _QUIET
        return Inbound(messages=self._parse(received.messages), closed=received.closed)

    def _parse(self, payloads: Sequence[bytes]) -> list[SipMessage]:
        messages: list[SipMessage] = []
        for data in payloads:
            if not data.strip(b"\r\n"):
                continue  # an RFC 5626 CRLF keep-alive or its pong
            try:
                messages.append(parse_message(data))
            except ParseError as exc:
                self.stats.malformed_dropped += 1
                log.warning("account %s: dropped a malformed message: %s", self._account, exc)
        self.stats.messages_received += len(messages)
        return messages

    async def aclose(self) -> None:
        if self.watch is not None:
            self.watch.forget()
        await self._ws.aclose()

    def close_nowait(self) -> bool:
        """Close a plain socket at once; False (nothing done) for a stream: ``aclose`` it."""
        if self._ws.raw_socket is None:
            return False
        if self.watch is not None:
            self.watch.forget()
        return self._ws.close_nowait()


class WatchedUpgrade:
    """A ws:// connection being opened in its owner's poller (see ``start_watched``)."""

    __slots__ = ("_account", "_keepalive_interval", "_pong_timeout", "_stats", "_upgrade", "watch")

    def __init__(
        self,
        upgrade: PlainUpgrade,
        watch: Watch,
        *,
        account: str,
        keepalive_interval: float,
        pong_timeout: float,
        stats: TransportStatistics | None,
    ) -> None:
        self._upgrade = upgrade
        self.watch = watch
        self._account = account
        self._keepalive_interval = keepalive_interval
        self._pong_timeout = pong_timeout
        self._stats = stats

    def advance(self, now: float) -> SipTransport | None:
        """Progress once ``watch`` is ready; the transport (born at ``now``) once the server
        accepted the upgrade."""
        self.watch.ready = False  # each step goes as far as the socket allows
        try:
            ws = self._upgrade.advance()
        except WebSocketError as exc:
            raise TransportError(str(exc)) from exc
        if ws is None:
            return None
        transport = SipTransport(
            ws,
            account=self._account,
            keepalive_interval=self._keepalive_interval,
            pong_timeout=self._pong_timeout,
            now=now,
            stats=self._stats,
        )
        transport.watch = self.watch
        return transport

    def abandon(self) -> None:
        self.watch.forget()
        self._upgrade.abandon()


def start_watched(
    url: str,
    *,
    poller: ReadinessPoller,
    owner: Owner,
    account: str,
    keepalive_interval: float = 25.0,
    pong_timeout: float = 10.0,
    stats: TransportStatistics | None = None,
) -> WatchedUpgrade | None:
    """Begin a ws:// connection to an IP address without waiting, its socket in ``poller``.

    ``owner`` is woken when the socket is ready; call ``advance`` then. None
    for a URL that needs a stream (``wss://``, a host name): use ``connect``.
    """
    target = parse_url(url)
    family = target.literal_family
    if target.secure or family is None:
        return None
    try:
        upgrade = PlainUpgrade(target, family, "sip")
    except WebSocketError as exc:
        raise TransportError(str(exc)) from exc
    try:
        upgrade.advance()  # sends the request at once when the connect is complete
    except WebSocketError as exc:
        upgrade.abandon()
        raise TransportError(str(exc)) from exc
    # Writability matters only while the connect is in progress (not over loopback).
    watch = poller.watch(upgrade.sock.fileno(), owner, writable=upgrade.connecting)
    return WatchedUpgrade(
        upgrade,
        watch,
        account=account,
        keepalive_interval=keepalive_interval,
        pong_timeout=pong_timeout,
        stats=stats,
    )


async def connect(
    url: str,
    *,
    account: str,
    verify_tls: bool = True,
    keepalive_interval: float = 25.0,
    pong_timeout: float = 10.0,
    stats: TransportStatistics | None = None,
) -> SipTransport:
    """Open the WebSocket (subprotocol ``sip``); the caller bounds the time."""
    context: ssl.SSLContext | None = None
    if url.startswith("wss:"):
        context = default_ssl_context() if verify_tls else insecure_ssl_context()
    try:
        ws = await open_websocket(url, subprotocol="sip", ssl_context=context)
    except WebSocketError as exc:
        raise TransportError(str(exc)) from exc
    return SipTransport(
        ws,
        account=account,
        keepalive_interval=keepalive_interval,
        pong_timeout=pong_timeout,
        now=trio.current_time(),
        stats=stats,
    )
