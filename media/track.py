"""The outgoing audio track: a source paced at real time, with mute, encoding itself.

aiortc pulls frames from a track as fast as ``recv`` returns them, so the track sleeps until
each 20 ms frame is due: frames go out on ticks of a 20 ms grid of the bridge loop's clock
that all tracks share (one loop wake-up per tick for every call, media.bridge). Muting swaps
the source's samples for silence in this track, so the far end hears silence with no
renegotiation and the RTP stream (and any RFC 4733 events riding on it) keeps flowing. Once
the session knows the codec the sender uses, and before the first frame, ``encode_as`` makes
the track encode the source's PCM itself and hand aiortc packets instead of frames
(media.codecs says why), so no ``av.AudioFrame`` is built per 20 ms on that path.
"""

from __future__ import annotations

import fractions
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet

from media.bridge import aio_current_tick, aio_sleep_until_tick
from media.codecs import TrackEncoder, track_encoder
from media.pcm import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, SILENT_FRAME
from media.sources import AudioSource

_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_TICK_SECONDS = FRAME_MS / 1000
# Further behind than this (an overloaded loop), the track skips ahead instead of bursting.
_MAX_LAG_TICKS = 10


class OutgoingAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, source: AudioSource) -> None:
        super().__init__()
        self.source = source
        self.muted = False
        self.frames_sent = 0
        self.resyncs = 0
        self._tick: int | None = None
        self._pts = 0
        self._encoder: TrackEncoder | None = None
        self._timestamp = 0

    def encode_as(self, codec_name: str, *, opus_complexity: int | None = None) -> bool:
        """The sender's negotiated codec; True when the track now hands packets (the sender
        must then only pack them: media.rtp_hooks.send_prepacked). Only before the first
        frame: a switch from frames to packets mid-stream would move the RTP timestamps."""
        if self._tick is None and self._encoder is None:
            self._encoder = track_encoder(codec_name, opus_complexity=opus_complexity)
        return self._encoder is not None

    def replace_source(self, source: AudioSource) -> AudioSource:
        old, self.source = self.source, source
        return old

    async def recv(self) -> av.AudioFrame | Packet[Any]:
        while True:
            pcm = await self._next_pcm()
            encoder = self._encoder
            if encoder is None:
                return self._frame(pcm)
            # One packet per 20 ms frame in practice; an encoder that buffers a frame
            # only delays the stream by one frame.
            payload = encoder.encode(pcm)
            if payload is not None:
                packet = Packet(payload)
                # In the codec's RTP clock (media.rtp_hooks.send_prepacked reads it as is).
                packet.pts = self._timestamp
                self._timestamp += encoder.samples_per_packet
                return packet

    async def _next_pcm(self) -> bytes:
        if self.readyState != "live":
            raise MediaStreamError
        now = aio_current_tick(_TICK_SECONDS)
        if self._tick is None:
            self._tick = now
        else:
            self._pts += FRAME_SAMPLES
            self._tick += 1
            if self._tick > now:
                await aio_sleep_until_tick(self._tick, _TICK_SECONDS)
            elif now - self._tick > _MAX_LAG_TICKS:
                self._tick = now
                self.resyncs += 1
        pcm = self.source.read(FRAME_SAMPLES)
        self.frames_sent += 1
        return SILENT_FRAME if self.muted else pcm

    def _frame(self, pcm: bytes) -> av.AudioFrame:
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(pcm)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        return frame
