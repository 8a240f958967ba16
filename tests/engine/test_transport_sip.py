"""SipTransport: SIP messages parsed per frame, junk dropped and counted, ping/pong deadlines."""

from __future__ import annotations

import trio
import trio_websocket

from kazoo_actors.actors.transport import KeepaliveStep, SipMessage, SipTransport, connect

OPTIONS = (
    "OPTIONS sip:pat@t.test SIP/2.0\r\n"
    "Via: SIP/2.0/WS srv.test;branch=z9hG4bKabc\r\n"
    "From: <sip:srv@t.test>;tag=1\r\nTo: <sip:pat@t.test>\r\n"
    "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


async def _serve(nursery: trio.Nursery, frames: list[str | bytes]) -> str:
    async def accept(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept(subprotocol="sip")
        for frame in frames:
            await ws.send_message(frame)
        try:
            while True:
                await ws.get_message()
        except trio_websocket.ConnectionClosed:
            pass

    server = await nursery.start(trio_websocket.serve_websocket, accept, "127.0.0.1", 0, None)
    return f"ws://127.0.0.1:{server.port}/"


async def _receive(transport: SipTransport, count: int) -> list[SipMessage]:
    got: list[SipMessage] = []
    with trio.fail_after(5):
        while transport.stats.messages_received + transport.stats.malformed_dropped < count:
            got.extend((await transport.receive()).messages)
    return got


async def test_keepalive_frames_are_skipped_and_junk_is_counted() -> None:
    async with trio.open_nursery() as nursery:
        url = await _serve(nursery, ["\r\n\r\n", "\r\n", "garbage\r\n\r\n", OPTIONS, b"\xff\x00"])
        transport = await connect(url, account="pat@t.test")
        messages = await _receive(transport, 3)
        assert [m.method for m in messages if hasattr(m, "method")] == ["OPTIONS"]
        assert transport.stats.malformed_dropped == 2
        assert transport.stats.messages_received == 1
        await transport.aclose()
        nursery.cancel_scope.cancel()


async def test_ping_then_pong_clears_the_deadline_and_a_missed_pong_is_fatal() -> None:
    async with trio.open_nursery() as nursery:
        url = await _serve(nursery, [])
        transport = await connect(
            url, account="pat@t.test", keepalive_interval=0.05, pong_timeout=0.5
        )
        assert transport.keepalive_step(trio.current_time()) is KeepaliveStep.WAITING
        await trio.sleep(0.06)
        now = trio.current_time()
        assert transport.keepalive_step(now) is KeepaliveStep.PINGED  # straight to the socket
        assert transport.stats.pings_sent == 1
        assert transport.pong_deadline == now + 0.5
        assert transport.keepalive_due() == now + 0.5
        with trio.fail_after(5):
            await transport.receive()
        assert transport.stats.pongs_received == 1
        assert transport.pong_deadline is None
        # Pretend the pong never came: the deadline passes without traffic.
        due = transport.keepalive_due()
        assert transport.keepalive_step(due) is KeepaliveStep.PINGED
        assert transport.keepalive_step(due + 0.1) is KeepaliveStep.WAITING
        assert transport.keepalive_step(due + 0.5) is KeepaliveStep.DEAD
        await transport.aclose()
        assert transport.keepalive_step(due + 1) is KeepaliveStep.CLOSED
        nursery.cancel_scope.cancel()
