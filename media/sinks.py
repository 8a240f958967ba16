"""Where received audio goes: nowhere, a file, or a Trio-side stream of PCM frames.

A sink's ``write`` runs on the bridge thread for every decoded 20 ms frame (media.pcm format)
and must return quickly; ``close`` runs once when the session closes. A session may feed
several sinks. Build sinks on the Trio side and hand them to the session.

Only FileRecorder needs av, and imports it when built: naming these types must not load the
media stack (see media.session).
"""

from __future__ import annotations

import fractions
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import trio

from media.bridge import TrioFeed
from media.pcm import SAMPLE_RATE, PcmFrame

if TYPE_CHECKING:
    import av


class AudioSink(Protocol):
    def write(self, frame: PcmFrame) -> None: ...

    def close(self) -> None: ...


class DiscardSink:
    """Counts frames and drops them."""

    def __init__(self) -> None:
        self.frames = 0

    def write(self, frame: PcmFrame) -> None:
        self.frames += 1

    def close(self) -> None:
        pass


class FileRecorder:
    """Records received audio to a file; the container comes from the suffix (``.wav``:
    16-bit PCM WAV; anything else av can mux with its default audio codec, e.g. ``.ogg``).

    The file is created when the recorder is built, so an unwritable path fails early.
    """

    def __init__(self, path: str | Path) -> None:
        import av
        from av.audio.stream import AudioStream

        self.path = Path(path)
        try:
            self._container = av.open(str(self.path), "w")
        except (av.FFmpegError, OSError) as exc:
            raise ValueError(f"cannot record to {self.path}: {exc}") from exc
        codec = "pcm_s16le" if self.path.suffix.lower() == ".wav" else None
        codec = codec or self._container.default_audio_codec
        stream = self._container.add_stream(codec, rate=SAMPLE_RATE, layout="mono")
        if not isinstance(stream, AudioStream):
            self._container.close()
            raise ValueError(f"{self.path.suffix} does not record audio")
        self._stream = stream
        self._format = stream.codec_context.format.name
        self._pts = 0
        # Codecs such as Vorbis want another sample format than the one we carry.
        self._resampler: av.AudioResampler | None = None
        if self._format != "s16":
            self._resampler = av.AudioResampler(
                format=self._format, layout="mono", rate=SAMPLE_RATE
            )
        self.frames = 0
        self._closed = False

    def write(self, frame: PcmFrame) -> None:
        import av

        if self._closed:
            return
        samples = frame.samples
        av_frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        av_frame.planes[0].update(frame.pcm)
        av_frame.sample_rate = frame.sample_rate
        av_frame.pts = self._pts
        av_frame.time_base = fractions.Fraction(1, frame.sample_rate)
        self._pts += samples
        frames = [av_frame] if self._resampler is None else self._resampler.resample(av_frame)
        for out in frames:
            for packet in self._stream.encode(out):
                self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


class FrameStream:
    """Received PCM frames as a Trio async iterator, for programs that analyse the audio.

    At most ``max_frames`` frames wait for the reader; when it falls behind, newer frames
    are dropped and counted in ``dropped`` (the call itself never slows down). Iteration ends
    when the session closes. Build it inside a Trio run.
    """

    def __init__(self, max_frames: int = 50) -> None:
        self._feed: TrioFeed[PcmFrame] = TrioFeed(max_frames)

    @property
    def dropped(self) -> int:
        return self._feed.dropped

    def write(self, frame: PcmFrame) -> None:
        self._feed.put(frame)

    def close(self) -> None:
        self._feed.close()

    async def receive(self) -> PcmFrame:
        """The next frame; raises trio.EndOfChannel after the session closed."""
        return await self._feed.receive_channel.receive()

    def __aiter__(self) -> FrameStream:
        return self

    async def __anext__(self) -> PcmFrame:
        try:
            return await self._feed.receive_channel.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
