"""SIP over WebSocket (RFC 7118): one connection, its keep-alives, its bad input dropped.

The transport is driven by its account's task instead of running a task of its
own: at 10,000 accounts every task (about 1.8 KB) and memory channel (about
1.9 KB) per account is a tenth of the 20 KB budget. The account actor calls
``receive`` in its one wait and ``send`` from its handlers; keep-alive timing is
kept here as plain deadlines the actor folds into that wait.

Keep-alive: a WebSocket ping every ``keepalive_interval`` seconds of silence;
a pong (or any other traffic) must come back within ``pong_timeout`` or the
connection counts as dead (RFC 6455 5.5.2 makes every server answer pings,
Kamailio included). That bounds dead-server detection at interval + timeout.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

import attrs
import trio
from sipmessage import Request, Response

from kazoo_actors.websocket import (
    WebSocketConnection,
    WebSocketError,
    default_ssl_context,
    insecure_ssl_context,
    open_websocket,
)
from protocols.sip.errors import ParseError
from protocols.sip.message import parse_message

log = logging.getLogger("kazoo_actors.transport")

SipMessage = Request | Response


class TransportError(Exception):
    """The WebSocket to the SIP server could not be opened or broke."""


@attrs.frozen(kw_only=True)
class Inbound:
    """What one receive brought: parsed messages and whether the connection ended."""

    messages: list[SipMessage]
    closed: bool = False


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
        "next_ping_at",
        "pong_deadline",
        "pong_timeout",
        "stats",
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
        self.next_ping_at = now + keepalive_interval
        self.pong_deadline: float | None = None
        self.stats = stats or TransportStatistics()

    @property
    def open(self) -> bool:
        return self._ws.open

    @property
    def next_deadline(self) -> float:
        if self.pong_deadline is not None:
            return min(self.pong_deadline, self.next_ping_at)
        return self.next_ping_at

    async def send(self, message: SipMessage) -> None:
        try:
            await self._ws.send_text(bytes(message).decode("utf-8", "replace"))
        except WebSocketError as exc:
            raise TransportError(str(exc)) from exc
        self.stats.messages_sent += 1

    async def receive(self, now_fn: Callable[[], float] = trio.current_time) -> Inbound:
        """Wait for the next frames; cancel-safe (nothing is lost when cancelled)."""
        received = await self._ws.receive()
        now = now_fn()
        if received.messages or received.pongs:
            # Any traffic proves the server alive; postpone the next ping.
            self.pong_deadline = None
            self.next_ping_at = now + self.keepalive_interval
        self.stats.pongs_received += received.pongs
        messages: list[SipMessage] = []
        for frame in received.messages:
            data = frame.encode("utf-8") if isinstance(frame, str) else frame
            if not data.strip(b"\r\n"):
                continue  # an RFC 5626 CRLF keep-alive or its pong
            try:
                messages.append(parse_message(data))
            except ParseError as exc:
                self.stats.malformed_dropped += 1
                log.warning("account %s: dropped a malformed message: %s", self._account, exc)
        self.stats.messages_received += len(messages)
        return Inbound(messages=messages, closed=received.closed)

    async def keepalive(self, now: float) -> bool:
        """Run due keep-alive work; False when the server missed its pong deadline."""
        if self.pong_deadline is not None and now >= self.pong_deadline:
            log.info("account %s: no pong within %.1f s", self._account, self.pong_timeout)
            return False
        if now >= self.next_ping_at and self.pong_deadline is None:
            try:
                await self._ws.ping(b"ka")
            except WebSocketError as exc:
                raise TransportError(str(exc)) from exc
            self.stats.pings_sent += 1
            self.pong_deadline = now + self.pong_timeout
            self.next_ping_at = now + self.keepalive_interval
        return True

    async def aclose(self) -> None:
        await self._ws.aclose()


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
