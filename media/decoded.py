"""Decoded av frames (any layout and rate) as media-format PCM (media.pcm).

Opus is decoded straight to the media format (media.codecs), so its frames are copied out
as they are; G.711 decodes at 8 kHz and goes through a resampler.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import av

from media.pcm import BYTES_PER_SAMPLE, SAMPLE_RATE


def is_media_format(frame: av.AudioFrame) -> bool:
    return (
        frame.sample_rate == SAMPLE_RATE
        and frame.format.name == "s16"
        and frame.layout.nb_channels == 1
    )


def to_pcm(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> Iterator[bytes]:
    """Decoded audio as media-format PCM chunks; None flushes the resampler."""
    if frame is not None and is_media_format(frame):
        yield bytes(frame.planes[0])[: frame.samples * BYTES_PER_SAMPLE]
        return
    for out in resampler.resample(frame):
        yield bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE]


def media_resampler() -> av.AudioResampler:
    return av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)


def frames_to_pcm(frames: Iterable[av.AudioFrame]) -> list[bytes]:
    """A run of decoded frames as media-format PCM, with a resampler of its own."""
    resampler = media_resampler()
    chunks = [pcm for frame in frames for pcm in to_pcm(resampler, frame)]
    return chunks + list(to_pcm(resampler, None))
