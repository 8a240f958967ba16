"""Received-audio level (RMS, dBFS) and dominant frequency, in plain Python.

numpy is not a dependency (av does not bring it), so the analysis works on ``array('h')``:
the level is an RMS over the window, the frequency a Hann-windowed radix-2 FFT of the window
decimated to 8 kHz, refined by quadratic interpolation of the log magnitude around the peak
bin. Tens of milliseconds of CPU per call: meant for once-a-second reports and tests, not for
every frame.
"""

from __future__ import annotations

import cmath
import math
import sys
from array import array
from collections.abc import Iterable

import attrs

from media.pcm import SAMPLE_RATE

SILENCE_DBFS = -120.0
_FULL_SCALE = 32768.0
_ANALYSIS_RATE = 8_000
_MAX_FFT = 2048


def samples_of(pcm: bytes) -> array[int]:
    """s16le bytes as an array of ints, whatever the host byte order."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def rms(samples: array[int]) -> float:
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def level_dbfs(samples: array[int]) -> float:
    """RMS level relative to a full-scale square wave; SILENCE_DBFS for digital silence."""
    value = rms(samples)
    if value <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(value / _FULL_SCALE))


def _decimate(samples: array[int], sample_rate: int) -> tuple[list[float], int]:
    factor = max(1, sample_rate // _ANALYSIS_RATE)
    if factor == 1:
        return [float(s) for s in samples], sample_rate
    # Averaging each group is a crude low-pass, enough for tones below ~3 kHz.
    usable = len(samples) - len(samples) % factor
    out = [sum(samples[i : i + factor]) / factor for i in range(0, usable, factor)]
    return out, sample_rate // factor


def _fft(values: list[complex]) -> list[complex]:
    n = len(values)
    levels = n.bit_length() - 1
    data = [values[int(f"{i:0{levels}b}"[::-1], 2)] for i in range(n)] if levels else values[:]
    size = 2
    while size <= n:
        half = size // 2
        step = cmath.exp(-2j * math.pi / size)
        for start in range(0, n, size):
            w = 1 + 0j
            for k in range(start, start + half):
                t = w * data[k + half]
                data[k + half] = data[k] - t
                data[k] = data[k] + t
                w *= step
        size *= 2
    return data


def dominant_frequency(samples: array[int], sample_rate: int = SAMPLE_RATE) -> float | None:
    """Frequency (Hz) of the strongest spectral peak, or None for silence / too little audio."""
    values, rate = _decimate(samples, sample_rate)
    n = 1
    while n * 2 <= min(len(values), _MAX_FFT):
        n *= 2
    if n < 64:
        return None
    window = values[-n:]
    mean = sum(window) / n
    tapered = [
        complex((v - mean) * (0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1))), 0.0)
        for i, v in enumerate(window)
    ]
    spectrum = [abs(c) for c in _fft(tapered)[: n // 2]]
    peak = max(range(1, n // 2 - 1), key=spectrum.__getitem__)
    if spectrum[peak] <= 1e-9:
        return None
    a, b, c = (math.log(max(spectrum[i], 1e-12)) for i in (peak - 1, peak, peak + 1))
    denominator = a - 2 * b + c
    shift = 0.5 * (a - c) / denominator if denominator else 0.0
    return (peak + shift) * rate / n


@attrs.frozen
class ProbeReading:
    """What a probe heard over its window."""

    level_dbfs: float
    frequency: float | None
    seconds: float

    @property
    def silent(self) -> bool:
        return self.level_dbfs < -60.0


def analyse(pcm_chunks: Iterable[bytes], sample_rate: int = SAMPLE_RATE) -> ProbeReading:
    """Level and dominant frequency of the concatenated s16le mono chunks."""
    samples = samples_of(b"".join(pcm_chunks))
    level = level_dbfs(samples)
    frequency = None if level <= -90.0 else dominant_frequency(samples, sample_rate)
    return ProbeReading(level_dbfs=level, frequency=frequency, seconds=len(samples) / sample_rate)
