"""The lean WebSocket client against a real trio-websocket server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio_websocket

from kazoo_actors.websocket import (
    HandshakeRefused,
    WebSocketError,
    WebSocketUrl,
    check_upgrade_response,
    open_websocket,
)

Handler = Callable[[trio_websocket.WebSocketConnection], Awaitable[None]]


@asynccontextmanager
async def ws_server(handler: Handler, subprotocol: str | None = "sip") -> AsyncIterator[str]:
    async def accept(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept(subprotocol=subprotocol)
        await handler(ws)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, accept, "127.0.0.1", 0, None)
        yield f"ws://127.0.0.1:{server.port}/ws"
        nursery.cancel_scope.cancel()


async def echo(ws: trio_websocket.WebSocketConnection) -> None:
    try:
        while True:
            await ws.send_message(await ws.get_message())
    except trio_websocket.ConnectionClosed:
        pass


async def test_text_message_round_trip() -> None:
    async with ws_server(echo) as url:
        conn = await open_websocket(url)
        await conn.send_text("OPTIONS sip:x SIP/2.0\r\n\r\n")
        got: list[str | bytes] = []
        with trio.fail_after(5):
            while not got:
                got.extend((await conn.receive()).messages)
        assert got == [b"OPTIONS sip:x SIP/2.0\r\n\r\n"]
        await conn.aclose()
        assert not conn.open


async def test_refused_subprotocol_fails_clearly() -> None:
    async with ws_server(echo, subprotocol=None) as url:
        with pytest.raises(HandshakeRefused, match="'sip' WebSocket subprotocol"):
            await open_websocket(url)


async def test_our_ping_is_answered_with_a_pong() -> None:
    async with ws_server(echo) as url:
        conn = await open_websocket(url)
        await conn.ping(b"ka")
        with trio.fail_after(5):
            received = await conn.receive()
        assert received.pongs == 1
        await conn.aclose()


async def test_server_close_is_reported_not_raised() -> None:
    async def close_at_once(ws: trio_websocket.WebSocketConnection) -> None:
        await ws.aclose(code=1001)

    async with ws_server(close_at_once) as url:
        conn = await open_websocket(url)
        with trio.fail_after(5):
            received = await conn.receive()
            while not received.closed:
                received = await conn.receive()
        assert not conn.open
        await conn.aclose()


async def test_nothing_listening_raises_websocket_error() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(WebSocketError, match="cannot connect"):
        await open_websocket(f"ws://127.0.0.1:{port}/")


async def test_send_after_the_peer_vanished_raises_websocket_error() -> None:
    async def drop(ws: trio_websocket.WebSocketConnection) -> None:
        await ws.aclose()

    async with ws_server(drop) as url:
        conn = await open_websocket(url)
        with trio.fail_after(5):
            while not (await conn.receive()).closed:
                pass
        with pytest.raises(WebSocketError):
            for _ in range(50):
                await conn.send_text("x" * 1000)
                await trio.sleep(0.01)


def test_upgrade_response_checks() -> None:
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    good = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip"
    )
    check_upgrade_response(good, key, "sip")
    with pytest.raises(HandshakeRefused, match="refused"):
        check_upgrade_response(b"HTTP/1.1 404 Not Found", key, "sip")
    with pytest.raises(HandshakeRefused, match="Accept"):
        check_upgrade_response(good.replace(b"s3pP", b"AAAA"), key, "sip")
    with pytest.raises(HandshakeRefused, match="malformed"):
        check_upgrade_response(b"garbage", key, "sip")


def test_url_parsing() -> None:
    url = WebSocketUrl.parse("wss://example.org/sip?x=1")
    assert (url.secure, url.host, url.port, url.resource) == (True, "example.org", 443, "/sip?x=1")
    assert WebSocketUrl.parse("ws://127.0.0.1:5066").host_header == "127.0.0.1:5066"
    with pytest.raises(ValueError):
        WebSocketUrl.parse("http://x/")
