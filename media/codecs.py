"""Audio codecs as the session runs them: encoded in the outgoing track, decoded inline.

aiortc encodes Opus in stereo at 96 kb/s after resampling every mono frame to stereo, and
decodes to stereo: for a voice call that doubles the codec work, which was the largest
single cost of a media call. A track may hand aiortc ready-made packets
(``MediaStreamTrack.recv`` returns a Frame or a Packet; media.rtp_hooks makes the sender only
pack them into RTP), so the outgoing track encodes here from the PCM its source produced:
Opus in mono at 32 kb/s, which is what browsers send, through libopus directly (media.opus)
when the system has it; G.711 after resampling to 8 kHz, which aiortc's own path did with an
RFC 6465 level computed in Python and an executor hand-off (a self-pipe write) per frame.
Opus decoders take any channel count, so the far end needs nothing special.

Decoders hand back media-format bytes at their own sample rate (48 kHz for Opus, 8 kHz for
G.711): nothing is resampled on the receive path unless a sink asks for 48 kHz.
"""

from __future__ import annotations

import fractions
from typing import Literal, Protocol

import av
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media import opus
from media.pcm import BYTES_PER_SAMPLE, FRAME_SAMPLES, SAMPLE_RATE

OPUS_BIT_RATE = 32_000
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_G711_RATE = 8_000
_G711_CODECS: dict[str, Literal["pcm_mulaw", "pcm_alaw"]] = {
    "pcmu": "pcm_mulaw",
    "pcma": "pcm_alaw",
}


class TrackEncoder(Protocol):
    samples_per_packet: int
    """RTP timestamp units per 20 ms packet (the codec's clock)."""

    def encode(self, pcm: bytes) -> bytes | None:
        """One 20 ms media-format frame in; a payload out, or None while the codec buffers."""
        ...


class PcmDecoder(Protocol):
    sample_rate: int

    def decode(self, payload: bytes) -> bytes:
        """s16le mono PCM at ``sample_rate``; ValueError or av.FFmpegError for a bad packet."""
        ...


class _LibopusEncoder:
    samples_per_packet = FRAME_SAMPLES

    def __init__(self, complexity: int | None) -> None:
        self._encoder = opus.OpusEncoder(OPUS_BIT_RATE, complexity)

    def encode(self, pcm: bytes) -> bytes:
        return self._encoder.encode(pcm)


class _PyavOpusEncoder:
    """The same through PyAV's libopus, for systems without the libopus library."""

    samples_per_packet = FRAME_SAMPLES

    def __init__(self, complexity: int | None) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.bit_rate = OPUS_BIT_RATE
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE
        codec.time_base = _TIME_BASE
        options = {"application": "voip"}
        if complexity is not None:
            options["compression_level"] = str(complexity)
        codec.options = options
        self._codec = codec
        self._pts = 0

    def encode(self, pcm: bytes) -> bytes | None:
        frame = _frame(pcm, SAMPLE_RATE, self._pts)
        self._pts += frame.samples
        packets = self._codec.encode(frame)
        return bytes(packets[0]) if packets else None


class _G711Encoder:
    samples_per_packet = _G711_RATE * FRAME_SAMPLES // SAMPLE_RATE

    def __init__(self, codec_name: Literal["pcm_mulaw", "pcm_alaw"]) -> None:
        codec = av.CodecContext.create(codec_name, "w")
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = _G711_RATE
        codec.time_base = fractions.Fraction(1, _G711_RATE)
        self._codec = codec
        self._resampler = av.AudioResampler(
            format="s16", layout="mono", rate=_G711_RATE, frame_size=self.samples_per_packet
        )
        self._pts = 0

    def encode(self, pcm: bytes) -> bytes | None:
        frame = _frame(pcm, SAMPLE_RATE, self._pts)
        self._pts += frame.samples
        payload = b"".join(
            bytes(packet)
            for out in self._resampler.resample(frame)
            for packet in self._codec.encode(out)
        )
        return payload or None


def _frame(pcm: bytes, rate: int, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // BYTES_PER_SAMPLE)
    frame.planes[0].update(pcm)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame


def track_encoder(codec_name: str, *, opus_complexity: int | None = None) -> TrackEncoder | None:
    """The encoder the outgoing track runs for the sender's negotiated codec (None: let aiortc
    encode frames, for codecs named here for the first time)."""
    name = codec_name.lower()
    if name == "opus":
        if opus.available():
            return _LibopusEncoder(opus_complexity)
        return _PyavOpusEncoder(opus_complexity)
    if name in _G711_CODECS:
        return _G711Encoder(_G711_CODECS[name])
    return None


class _LibopusDecoder:
    sample_rate = SAMPLE_RATE

    def __init__(self) -> None:
        self._decoder = opus.OpusDecoder()

    def decode(self, payload: bytes) -> bytes:
        return self._decoder.decode(payload)


class _PyavOpusDecoder:
    sample_rate = SAMPLE_RATE

    def __init__(self) -> None:
        codec = av.CodecContext.create("libopus", "r")
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = SAMPLE_RATE
        self._codec = codec

    def decode(self, payload: bytes) -> bytes:
        return b"".join(_pcm(frame) for frame in self._codec.decode(av.Packet(payload)))


class _AiortcDecoder:
    """aiortc's decoder for the codec (G.711 decodes to 8 kHz mono s16)."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self._decoder = get_decoder(codec)
        self.sample_rate = codec.clockRate

    def decode(self, payload: bytes) -> bytes:
        frames = self._decoder.decode(JitterFrame(data=payload, timestamp=0))
        return b"".join(_pcm(frame) for frame in frames if isinstance(frame, av.AudioFrame))


def _pcm(frame: av.AudioFrame) -> bytes:
    return bytes(frame.planes[0])[: frame.samples * BYTES_PER_SAMPLE]


def decoder_for(codec: RTCRtpCodecParameters) -> PcmDecoder:
    """Opus decoded straight to mono 48 kHz; others as aiortc does."""
    if codec.name.lower() == "opus":
        return _LibopusDecoder() if opus.available() else _PyavOpusDecoder()
    return _AiortcDecoder(codec)


__all__ = ["OPUS_BIT_RATE", "PcmDecoder", "TrackEncoder", "decoder_for", "track_encoder"]
