"""What a session sends: silence, a tone, an audio file, or PCM pushed from Trio.

A source is read on the bridge thread, one 20 ms frame at a time, by the session's paced
outgoing track: ``read(samples)`` must return exactly ``samples`` s16le mono samples at 48 kHz
(media.pcm) and must not block. Build sources on the Trio side and hand them to the session.

Only FileSource needs av, and imports it when built: naming these types must not load the
media stack (see media.session).
"""

from __future__ import annotations

import math
import sys
import threading
from array import array
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import trio

from media.bridge import TrioCaller
from media.pcm import BYTES_PER_SAMPLE, FRAME_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    import av.container

_FULL_SCALE = 32767


class AudioSource(Protocol):
    def read(self, samples: int) -> bytes:
        """Exactly ``samples`` samples of s16le mono 48 kHz PCM; never blocks."""
        ...

    def close(self) -> None:
        """Release what the source holds (called once, on the bridge thread)."""
        ...


class Silence:
    """Digital silence."""

    def read(self, samples: int) -> bytes:
        return bytes(samples * BYTES_PER_SAMPLE)

    def close(self) -> None:
        pass


def _to_le_bytes(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


class Tone:
    """A sine tone: ``frequency`` in Hz, ``amplitude`` as a fraction of full scale (0..1].

    The waveform is computed once over a whole number of cycles (at most 10 s) and then
    replayed, so a running tone costs a slice per frame, not a sin() per sample.
    """

    def __init__(self, frequency: float, amplitude: float = 0.5) -> None:
        if not 0 < frequency < SAMPLE_RATE / 2:
            raise ValueError(f"tone frequency must be between 0 and {SAMPLE_RATE // 2} Hz")
        if not 0 < amplitude <= 1:
            raise ValueError("tone amplitude must be in (0, 1]")
        self.frequency = frequency
        self.amplitude = amplitude
        seconds = next(
            (s for s in range(1, 11) if abs(frequency * s - round(frequency * s)) < 1e-9), 10
        )
        length = SAMPLE_RATE * seconds
        peak = amplitude * _FULL_SCALE
        step = 2 * math.pi * frequency / SAMPLE_RATE
        self._table = _to_le_bytes(
            array("h", (round(peak * math.sin(step * i)) for i in range(length)))
        )
        self._position = 0

    def read(self, samples: int) -> bytes:
        wanted = samples * BYTES_PER_SAMPLE
        out = bytearray()
        while len(out) < wanted:
            chunk = self._table[self._position : self._position + wanted - len(out)]
            out += chunk
            self._position = (self._position + len(chunk)) % len(self._table)
        return bytes(out)

    def close(self) -> None:
        pass


class FileSource:
    """Any audio file av can read, resampled to the media format, played once or looped.

    After the end of a file played once the source sends silence and ``finished`` is True.
    The file is opened (and its audio stream checked) when the source is built, so a bad path
    or a file without audio raises here, not in the middle of a call.
    """

    def __init__(self, path: str | Path, *, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        self.finished = False
        self._container = self._open()
        self._buffer = bytearray()
        self._frames = self._decoded_frames()

    def _open(self) -> av.container.InputContainer:
        import av

        try:
            container = av.open(str(self.path), "r")
        except (av.FFmpegError, OSError) as exc:
            raise ValueError(f"cannot open audio file {self.path}: {exc}") from exc
        if not container.streams.audio:
            container.close()
            raise ValueError(f"{self.path} has no audio stream")
        return container

    def _decoded_frames(self) -> Iterator[bytes]:
        import av

        try:
            while True:
                resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                produced = False
                stream = self._container.streams.audio[0]
                for frame in self._container.decode(stream):
                    for out in resampler.resample(frame):
                        produced = True
                        yield bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE]
                for out in resampler.resample(None):
                    produced = True
                    yield bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE]
                if not (self.loop and produced):
                    return
                self._container.seek(0)
        except av.FFmpegError:
            # A file damaged half-way ends the playback rather than the call.
            return

    def read(self, samples: int) -> bytes:
        wanted = samples * BYTES_PER_SAMPLE
        while len(self._buffer) < wanted and not self.finished:
            try:
                self._buffer += next(self._frames)
            except StopIteration:
                self.finished = True
        chunk = bytes(self._buffer[:wanted])
        del self._buffer[:wanted]
        return chunk + bytes(wanted - len(chunk))

    def close(self) -> None:
        self._container.close()


class PushSource:
    """PCM pushed from Trio, with a bounded buffer (the session's inbound audio channel).

    Trio code calls ``await source.send(pcm)`` with s16le mono 48 kHz bytes of any length;
    ``send`` waits while ``max_frames`` 20 ms frames are already queued. When nothing is
    queued the session sends silence (``underruns`` counts those frames). Build it inside
    a Trio run.
    """

    def __init__(self, max_frames: int = 50) -> None:
        if max_frames < 1:
            raise ValueError("max_frames must be at least 1")
        self._max_bytes = max_frames * FRAME_SAMPLES * BYTES_PER_SAMPLE
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._lock = threading.Lock()
        self._space = trio.Event()
        self._caller = TrioCaller()
        self.underruns = 0

    async def send(self, pcm: bytes) -> None:
        if len(pcm) % BYTES_PER_SAMPLE:
            raise ValueError("PCM must hold whole 16-bit samples")
        view = memoryview(pcm)
        while view:
            with self._lock:
                room = self._max_bytes - self._queued
                if room > 0:
                    piece = bytes(view[: room - room % BYTES_PER_SAMPLE])
                    self._chunks.append(piece)
                    self._queued += len(piece)
                    view = view[len(piece) :]
                    continue
                self._space = trio.Event()
                space = self._space
            await space.wait()

    def queued_samples(self) -> int:
        return self._queued // BYTES_PER_SAMPLE

    def read(self, samples: int) -> bytes:
        wanted = samples * BYTES_PER_SAMPLE
        out = bytearray()
        with self._lock:
            while self._chunks and len(out) < wanted:
                chunk = self._chunks.popleft()
                take = wanted - len(out)
                out += chunk[:take]
                if len(chunk) > take:
                    self._chunks.appendleft(chunk[take:])
            self._queued -= len(out)
            space = self._space
        if len(out) < wanted:
            self.underruns += 1
        if out and not space.is_set():
            self._caller.call_soon(space.set)
        return bytes(out) + bytes(wanted - len(out))

    def close(self) -> None:
        self._caller.call_soon(self._space.set)
