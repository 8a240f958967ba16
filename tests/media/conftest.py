"""Two MediaSessions in one process, negotiated directly on loopback (no SIP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import trio

from media.options import MediaOptions
from media.probe import ProbeReading
from media.session import MediaSession
from media.sinks import AudioSink
from media.sources import AudioSource

LOOPBACK = MediaOptions(host_addresses=["127.0.0.1"])
CONNECT_TIMEOUT = 5.0
NOT_WEBRTC = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


@asynccontextmanager
async def connected_pair(
    *,
    caller_source: AudioSource | None = None,
    callee_source: AudioSource | None = None,
    caller_options: MediaOptions = LOOPBACK,
    callee_options: MediaOptions = LOOPBACK,
    callee_sinks: Sequence[AudioSink] = (),
    wait_audio: bool = True,
) -> AsyncIterator[tuple[MediaSession, MediaSession]]:
    async with (
        MediaSession(caller_options, source=caller_source) as caller,
        MediaSession(callee_options, source=callee_source, sinks=callee_sinks) as callee,
    ):
        with trio.fail_after(CONNECT_TIMEOUT):
            offer = await caller.create_offer()
            answer = await callee.create_answer(offer)
            await caller.accept_answer(answer)
            await caller.wait_connected()
            await callee.wait_connected()
            if wait_audio:
                await caller.wait_audio()
                await callee.wait_audio()
        yield caller, callee


async def settled_probe(session: MediaSession, seconds: float = 0.3) -> ProbeReading:
    """What the session hears once a full probe window of new audio has arrived."""
    await trio.sleep(seconds)
    return session.probe()
