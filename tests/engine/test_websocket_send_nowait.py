"""send_text_nowait: a frame the kernel takes at once goes out without a coroutine; one it
cannot take whole is queued, ahead of later messages, until flush sends it."""

from __future__ import annotations

import socket

import pytest
import trio

from kazoo_actors.websocket import WebSocketConnection


def unmask_all(wire: bytes) -> list[bytes]:
    """The payloads of the masked client frames in ``wire``."""
    payloads = []
    at = 0
    while at < len(wire):
        length = wire[at + 1] & 0x7F
        at += 2
        if length == 126:
            length = int.from_bytes(wire[at : at + 2], "big")
            at += 2
        elif length == 127:
            length = int.from_bytes(wire[at : at + 8], "big")
            at += 8
        key = wire[at : at + 4]
        at += 4
        payload = wire[at : at + length]
        payloads.append(bytes(b ^ key[i % 4] for i, b in enumerate(payload)))
        at += length
    return payloads


async def test_a_message_the_kernel_takes_at_once_is_sent_without_waiting() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        ws = WebSocketConnection(raw=ours)
        assert ws.send_text_nowait(b"REGISTER")
        assert unmask_all(theirs.recv(4096)) == [b"REGISTER"]
        assert ws.bytes_sent == 2 + 4 + len(b"REGISTER")
        await ws.flush()  # nothing queued: nothing more goes out
        theirs.setblocking(False)
        with pytest.raises(BlockingIOError):
            theirs.recv(16)


async def test_what_the_kernel_cannot_take_is_queued_in_order_until_flush() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        ours.setblocking(False)
        ws = WebSocketConnection(raw=ours)
        big = bytes(range(256)) * 2000  # far more than the socket buffers hold
        assert not ws.send_text_nowait(big)
        assert not ws.send_text_nowait(b"after")  # behind the queued tail, never before it
        received = bytearray()

        def drain() -> None:
            theirs.settimeout(5)
            while True:
                chunk = theirs.recv(65536)
                received.extend(chunk)
                if not chunk or len(unmask_all_complete(bytes(received))) == 2:
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, drain)
            with trio.fail_after(10):
                await ws.flush()
        assert unmask_all(bytes(received)) == [big, b"after"]
        assert ws.bytes_sent == len(received)


def unmask_all_complete(wire: bytes) -> list[bytes]:
    """``unmask_all`` of the whole frames at the start of ``wire`` (a partial one left out)."""
    at = 0
    ends = []
    while at + 2 <= len(wire):
        length, head = wire[at + 1] & 0x7F, 2
        if length == 126:
            length, head = int.from_bytes(wire[at + 2 : at + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(wire[at + 2 : at + 10], "big"), 10
        end = at + head + 4 + length
        if end > len(wire):
            break
        ends.append(end)
        at = end
    return unmask_all(wire[: ends[-1]]) if ends else []
