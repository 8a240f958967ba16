"""SipTransport opened and read through the ReadinessPoller, as the account actor does."""

from __future__ import annotations

import math
import socket

import pytest
import trio
import trio_websocket
from sipmessage import Request, Response

from kazoo_actors.actors.mailbox import Mailbox
from kazoo_actors.actors.readiness_poller import ReadinessPoller
from kazoo_actors.actors.transport import (
    SipMessage,
    SipTransport,
    TransportError,
    WatchedUpgrade,
    start_watched,
)
from kazoo_actors.websocket import RECEIVE_BYTES, WebSocketConnection

OPTIONS = (
    "OPTIONS sip:pat@t.test SIP/2.0\r\n"
    "Via: SIP/2.0/WS srv.test;branch=z9hG4bKabc\r\n"
    "From: <sip:srv@t.test>;tag=1\r\nTo: <sip:pat@t.test>\r\n"
    "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


async def _serve(nursery: trio.Nursery, subprotocol: str | None = "sip") -> str:
    async def accept(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept(subprotocol=subprotocol)
        try:
            while True:
                # Echo each message twice, so that one read may bring two frames.
                message = await ws.get_message()
                await ws.send_message(message)
                await ws.send_message(message)
        except trio_websocket.ConnectionClosed:
            pass

    server = await nursery.start(trio_websocket.serve_websocket, accept, "127.0.0.1", 0, None)
    return f"ws://127.0.0.1:{server.port}/"


def _poller() -> ReadinessPoller:
    poller = ReadinessPoller.current()
    assert poller is not None
    return poller


async def _finish(upgrade: WatchedUpgrade, mailbox: Mailbox[str]) -> SipTransport:
    with trio.fail_after(5):
        while True:
            if upgrade.watch.ready:
                transport = upgrade.advance(trio.current_time())
                if transport is not None:
                    return transport
            await mailbox.park(math.inf, upgrade.watch.poller)


async def test_open_send_and_receive_through_the_poller() -> None:
    mailbox: Mailbox[str] = Mailbox()
    async with trio.open_nursery() as nursery:
        url = await _serve(nursery)
        upgrade = start_watched(url, poller=_poller(), owner=mailbox, account="pat@t.test")
        assert upgrade is not None
        transport = await _finish(upgrade, mailbox)
        assert transport.watch is upgrade.watch
        await transport._ws.send_text(OPTIONS)
        got: list[Request | Response] = []
        with trio.fail_after(5):
            while len(got) < 2:
                if not transport.watch.ready:
                    await mailbox.park(math.inf, upgrade.watch.poller)
                if transport.watch.ready:
                    got.extend((await transport.receive_ready(trio.current_time())).messages)
        assert [m.method for m in got if isinstance(m, Request)] == ["OPTIONS", "OPTIONS"]
        assert transport.stats.messages_received == 2
        await transport.aclose()
        assert not transport.open
        nursery.cancel_scope.cancel()


async def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    mailbox: Mailbox[str] = Mailbox()
    with pytest.raises(TransportError, match="cannot connect"):
        # Over loopback the refusal is known at once, or at the first step after the wait.
        upgrade = start_watched(
            f"ws://127.0.0.1:{port}/", poller=_poller(), owner=mailbox, account="a"
        )
        assert upgrade is not None
        await _finish(upgrade, mailbox)


async def test_a_refused_upgrade_is_a_transport_error() -> None:
    mailbox: Mailbox[str] = Mailbox()
    async with trio.open_nursery() as nursery:
        url = await _serve(nursery, subprotocol=None)
        upgrade = start_watched(url, poller=_poller(), owner=mailbox, account="a")
        assert upgrade is not None
        with pytest.raises(TransportError, match="'sip' WebSocket subprotocol"):
            await _finish(upgrade, mailbox)
        upgrade.abandon()
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("url", ["wss://127.0.0.1:5061/", "ws://localhost:5066/"])
async def test_streams_are_left_to_connect(url: str) -> None:
    mailbox: Mailbox[str] = Mailbox()
    assert start_watched(url, poller=_poller(), owner=mailbox, account="a") is None


async def test_close_nowait_sends_a_close_frame_and_frees_the_socket() -> None:
    mailbox: Mailbox[str] = Mailbox()
    codes: list[int] = []

    async def accept(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept(subprotocol="sip")
        try:
            await ws.get_message()
        except trio_websocket.ConnectionClosed as closed:
            assert closed.reason is not None
            codes.append(closed.reason.code)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, accept, "127.0.0.1", 0, None)
        upgrade = start_watched(
            f"ws://127.0.0.1:{server.port}/", poller=_poller(), owner=mailbox, account="a"
        )
        assert upgrade is not None
        transport = await _finish(upgrade, mailbox)
        fd = upgrade.watch.fd
        assert transport.close_nowait()
        assert not transport.open
        assert fd not in _poller()._watches
        with trio.fail_after(5):
            while not codes:
                await trio.sleep(0.01)
        assert codes == [1000]
        nursery.cancel_scope.cancel()


async def test_a_full_read_keeps_the_socket_ready_until_it_is_drained() -> None:
    mailbox: Mailbox[str] = Mailbox()
    ours, theirs = socket.socketpair()
    with theirs:
        ours.setblocking(False)
        transport = SipTransport(
            WebSocketConnection(raw=ours),
            account="a",
            keepalive_interval=25.0,
            pong_timeout=10.0,
            now=trio.current_time(),
        )
        transport.watch = _poller().watch(ours.fileno(), mailbox)
        body = b"x" * (RECEIVE_BYTES + 1000)
        message = (OPTIONS.replace("Content-Length: 0", f"Content-Length: {len(body)}")).encode()
        payload = message + body
        theirs.sendall(bytes((0x82, 127)) + len(payload).to_bytes(8, "big") + payload)
        with trio.fail_after(5):
            await mailbox.park(math.inf, transport.watch.poller)
        reads = 0
        got: list[SipMessage] = []
        while transport.watch.ready:
            # Edge-triggered: no new edge comes for what is left, so ready must stay set.
            got.extend((await transport.receive_ready(trio.current_time())).messages)
            reads += 1
        assert reads >= 2
        assert len(got) == 1 and got[0].body == body
        assert transport.close_nowait()
