"""The one PCM format media code exchanges: signed 16-bit little-endian mono at 48 kHz.

Sources produce it, sinks and probes consume it; aiortc's codecs resample to and from it.
48 kHz is Opus's native rate, so the common case needs no resampling at all. Decoded av
frames become this format in media.decoded (this module stays free of av, so that programs
that only name these types do not load the media stack).
"""

from __future__ import annotations

import attrs

SAMPLE_RATE = 48_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
BYTES_PER_SAMPLE = 2
FRAME_BYTES = FRAME_SAMPLES * BYTES_PER_SAMPLE
SILENT_FRAME = bytes(FRAME_BYTES)


@attrs.frozen
class PcmFrame:
    """One decoded frame of received audio.

    ``pcm`` holds s16le mono samples at ``sample_rate``; ``received_at`` is the bridge loop's
    clock (seconds) when the frame was decoded, for latency measurements.
    """

    pcm: bytes
    sample_rate: int = SAMPLE_RATE
    received_at: float = 0.0

    @property
    def samples(self) -> int:
        return len(self.pcm) // BYTES_PER_SAMPLE

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate
