"""Sources, sinks and the probe, alone and through a call."""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import pytest
import trio
from conftest import connected_pair

from media.options import MediaOptions
from media.pcm import FRAME_SAMPLES, SAMPLE_RATE, PcmFrame
from media.probe import analyse
from media.sinks import FileRecorder, FrameStream
from media.sources import FileSource, PushSource, Silence, Tone


def tone_pcm(frequency: float, seconds: float, amplitude: float = 0.3) -> bytes:
    count = int(SAMPLE_RATE * seconds)
    peak = amplitude * 32767
    return array(
        "h",
        (round(peak * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE)) for i in range(count)),
    ).tobytes()


def test_probe_measures_level_and_frequency() -> None:
    reading = analyse([tone_pcm(1234, 0.2, amplitude=0.5)])
    assert reading.frequency == pytest.approx(1234, abs=2)
    assert reading.level_dbfs == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.2)
    silent = analyse([bytes(1920)])
    assert silent.silent and silent.frequency is None


def test_tone_is_continuous_across_reads() -> None:
    tone = Tone(441, amplitude=0.25)
    pcm = b"".join(tone.read(FRAME_SAMPLES) for _ in range(60))
    assert len(pcm) == 60 * FRAME_SAMPLES * 2
    assert analyse([pcm]).frequency == pytest.approx(441, abs=2)
    assert Silence().read(10) == bytes(20)
    with pytest.raises(ValueError):
        Tone(0)


def test_file_recorder_then_file_source_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    recorder = FileRecorder(path)
    pcm = tone_pcm(500, 0.5)
    for offset in range(0, len(pcm), FRAME_SAMPLES * 2):
        recorder.write(PcmFrame(pcm=pcm[offset : offset + FRAME_SAMPLES * 2]))
    recorder.close()

    once = FileSource(path)
    played = b"".join(once.read(FRAME_SAMPLES) for _ in range(30))
    once.close()
    assert once.finished
    assert analyse([played[: len(pcm)]]).frequency == pytest.approx(500, abs=3)
    assert played[len(pcm) :] == bytes(len(played) - len(pcm))

    looped = FileSource(path, loop=True)
    replay = b"".join(looped.read(FRAME_SAMPLES) for _ in range(60))
    looped.close()
    assert not looped.finished
    assert analyse([replay[-9600:]]).frequency == pytest.approx(500, abs=3)


def test_file_source_rejects_missing_and_non_audio_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FileSource(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 10)
    with pytest.raises(ValueError):
        FileSource(junk)


async def test_push_source_blocks_when_full_and_drains() -> None:
    source = PushSource(max_frames=2)
    await source.send(bytes(FRAME_SAMPLES * 4))
    with trio.move_on_after(0.05) as scope:
        await source.send(bytes(2))
    assert scope.cancelled_caught
    assert len(source.read(FRAME_SAMPLES)) == FRAME_SAMPLES * 2
    with trio.fail_after(1):
        await source.send(bytes(2))
    source.read(FRAME_SAMPLES * 3)
    assert source.underruns == 1


async def test_file_played_in_a_call_is_recorded_and_streamed(tmp_path: Path) -> None:
    played = tmp_path / "played.wav"
    recorder = FileRecorder(played)
    pcm = tone_pcm(800, 1.0)
    for offset in range(0, len(pcm), FRAME_SAMPLES * 2):
        recorder.write(PcmFrame(pcm=pcm[offset : offset + FRAME_SAMPLES * 2]))
    recorder.close()

    recorded = tmp_path / "recorded.wav"
    stream = FrameStream(max_frames=100)
    async with connected_pair(
        caller_source=FileSource(played, loop=True),
        callee_sinks=[FileRecorder(recorded), stream],
    ) as (_, callee):
        frames = []
        with trio.fail_after(3):
            async for frame in stream:
                frames.append(frame.pcm)
                if len(frames) == 15:
                    break
        assert analyse(frames[-10:]).frequency == pytest.approx(800, abs=5)
        await trio.sleep(0.3)
    # After close the recording is complete and readable as a source again.
    assert callee.statistics().frames_received >= 15
    replay = FileSource(recorded)
    audio = b"".join(replay.read(FRAME_SAMPLES) for _ in range(20))
    replay.close()
    assert analyse([audio[-9600:]]).frequency == pytest.approx(800, abs=5)


async def test_g711_audio_reaches_sinks_at_48_khz_and_the_probe_at_8_khz() -> None:
    pcmu = MediaOptions(host_addresses=["127.0.0.1"], codecs=("PCMU",))
    stream = FrameStream(max_frames=100)
    async with connected_pair(
        caller_source=Tone(600),
        caller_options=pcmu,
        callee_options=pcmu,
        callee_sinks=[stream],
    ) as (_, callee):
        frames = []
        with trio.fail_after(3):
            async for frame in stream:
                frames.append(frame)
                if len(frames) == 15:
                    break
        assert {frame.sample_rate for frame in frames} == {SAMPLE_RATE}
        # Decoded at 8 kHz, resampled for the sink: whole 20 ms frames once the filter is primed.
        assert {frame.samples for frame in frames[2:]} == {FRAME_SAMPLES}
        assert analyse([frame.pcm for frame in frames[-10:]]).frequency == pytest.approx(600, abs=8)
        await trio.sleep(0.3)
        heard = callee.probe()
        assert heard.frequency == pytest.approx(600, abs=8)
        assert heard.seconds == pytest.approx(0.2, abs=0.03)
