"""A read that is one whole frame takes the transport's short way; it must match the long one."""

from __future__ import annotations

import math
import socket

import pytest
import trio

from kazoo_actors.actors.mailbox import Mailbox
from kazoo_actors.actors.readiness_poller import ReadinessPoller
from kazoo_actors.actors.transport import SipTransport
from kazoo_actors.websocket import WebSocketConnection

OPTIONS = (
    b"OPTIONS sip:pat@t.test SIP/2.0\r\n"
    b"Via: SIP/2.0/WS srv.test;branch=z9hG4bKabc\r\n"
    b"From: <sip:srv@t.test>;tag=1\r\nTo: <sip:pat@t.test>\r\n"
    b"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


def frame(payload: bytes, *, first: int = 0x81) -> bytes:
    if len(payload) < 126:
        return bytes((first, len(payload))) + payload
    return bytes((first, 126)) + len(payload).to_bytes(2, "big") + payload


def fragmented(payload: bytes) -> bytes:
    """The same message in two fragments: only the frame decoder reads it."""
    half = len(payload) // 2
    return frame(payload[:half], first=0x01) + frame(payload[half:], first=0x80)


async def _read(wire: bytes) -> tuple[list[str], dict[str, int], int, float]:
    """What receive_ready makes of ``wire`` sent at once by the server."""
    mailbox: Mailbox[str] = Mailbox()
    poller = ReadinessPoller.current()
    assert poller is not None
    ours, theirs = socket.socketpair()
    with theirs:
        ours.setblocking(False)
        ws = WebSocketConnection(raw=ours)
        transport = SipTransport(
            ws, account="a", keepalive_interval=25.0, pong_timeout=10.0, now=0.0
        )
        transport.ping_sent_at = 1.0
        transport.watch = poller.watch(ours.fileno(), mailbox)
        theirs.sendall(wire)
        with trio.fail_after(5):
            await mailbox.park(math.inf, poller)
        inbound = await transport.receive_ready(7.0)
        assert not inbound.closed and transport.open and not transport.watch.ready
        stats = transport.stats
        counts = {
            "received": stats.messages_received,
            "dropped": stats.malformed_dropped,
            "pongs": stats.pongs_received,
        }
        alive = transport.last_traffic if transport.ping_sent_at is None else -1.0
        messages = [bytes(m).decode() for m in inbound.messages]
        assert transport.close_nowait()
        return messages, counts, ws.bytes_received, alive


@pytest.mark.parametrize(
    "payload",
    [
        OPTIONS,
        OPTIONS + b"x" * 200,  # past 125 bytes: a 16-bit length
        b"OPTIONS sip:pat@t.test SIP/2.0\r\nVia: nonsense\r\n\r\n",  # dropped as malformed
        b"\r\n\r\n",  # an RFC 5626 keep-alive
    ],
)
async def test_a_whole_frame_reads_as_the_frame_decoder_reads_it(payload: bytes) -> None:
    short = await _read(frame(payload))
    long = await _read(fragmented(payload))
    # Everything alike but the byte count (a fragmented message has one more header).
    assert short[:2] == long[:2] and short[3] == long[3] == 7.0
    assert short[2] == len(frame(payload))
