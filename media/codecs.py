"""Audio codecs as the session runs them: Opus in mono, encoded in the track, decoded inline.

aiortc encodes Opus in stereo at 96 kb/s after resampling every mono frame to stereo, and
decodes to stereo: for a voice call that doubles the codec work, which was the largest
single cost of a media call (measured ~270 us vs ~145 us per 20 ms frame to encode). A
track may hand aiortc ready-made packets (``MediaStreamTrack.recv`` returns a Frame or a
Packet; packets are only packed into RTP), so the outgoing track encodes here, mono at
32 kb/s, which is what browsers send. Opus decoders take any channel count, so the far end
needs nothing special. G.711 keeps aiortc's own encoder (it is cheap and needs 8 kHz).
"""

from __future__ import annotations

import fractions
from typing import Any

import av
from aiortc.codecs import get_decoder
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame
from av.packet import Packet

from media.pcm import SAMPLE_RATE

OPUS_BIT_RATE = 32_000
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)


class OpusPacketEncoder:
    """Mono 48 kHz s16 frames of 20 ms in, one Opus packet per frame out."""

    def __init__(self) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.bit_rate = OPUS_BIT_RATE
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE
        codec.time_base = _TIME_BASE
        codec.options = {"application": "voip"}
        self._codec = codec

    def encode(self, frame: av.AudioFrame) -> list[Packet[Any]]:
        packets: list[Packet[Any]] = self._codec.encode(frame)
        for packet in packets:
            # aiortc converts the packet's pts to the RTP clock with this time base.
            packet.time_base = _TIME_BASE
        return packets


class _MonoOpusDecoder(Decoder):
    def __init__(self) -> None:
        codec = av.CodecContext.create("libopus", "r")
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE
        self._codec = codec

    def decode(self, encoded_frame: JitterFrame) -> list[Frame]:
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = _TIME_BASE
        return list(self._codec.decode(packet))


def decoder_for(codec: RTCRtpCodecParameters) -> Decoder:
    """Opus decoded straight to mono (what every sink and the probe use); others as aiortc does."""
    if codec.name.lower() == "opus":
        return _MonoOpusDecoder()
    return get_decoder(codec)


def encodes_in_track(codec_name: str) -> bool:
    return codec_name.lower() == "opus"


__all__ = ["OPUS_BIT_RATE", "OpusPacketEncoder", "decoder_for", "encodes_in_track"]
