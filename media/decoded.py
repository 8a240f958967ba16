"""Received PCM at the decoder's rate brought to the media format (media.pcm) for sinks.

Opus decodes straight to 48 kHz, which passes through untouched; G.711 decodes at 8 kHz and
goes through one resampler per stream, only when a sink wants the audio (the probe analyses
at the decoder's rate).
"""

from __future__ import annotations

import fractions

import av

from media.pcm import BYTES_PER_SAMPLE, SAMPLE_RATE


class ToMediaRate:
    """s16le mono PCM at any rate in, media-format PCM out (stateful: one per stream)."""

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._pts = 0

    def convert(self, pcm: bytes, rate: int) -> bytes:
        if rate == SAMPLE_RATE:
            return pcm
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // BYTES_PER_SAMPLE)
        frame.planes[0].update(pcm)
        frame.sample_rate = rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, rate)
        self._pts += frame.samples
        return b"".join(
            bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE]
            for out in self._resampler.resample(frame)
        )
