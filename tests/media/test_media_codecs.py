"""Audio encoded by the outgoing track (mono Opus, G.711) and decoded on the loop thread."""

from __future__ import annotations

import threading

import pytest
from aiortc.clock import current_datetime, datetime_to_ntp
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from conftest import connected_pair, settled_probe

from media import opus
from media.codecs import OPUS_BIT_RATE, decoder_for, track_encoder
from media.options import MediaOptions
from media.pcm import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE
from media.probe import analyse
from media.rtp_hooks import InlineDecoding, _fast_ntp_time
from media.sources import Tone

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
PCMU = RTCRtpCodecParameters(mimeType="audio/PCMU", clockRate=8000, channels=1, payloadType=0)


@pytest.fixture(params=["libopus", "pyav"])
def opus_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both Opus implementations: libopus through ctypes, and PyAV's where it is missing."""
    if request.param == "pyav":
        monkeypatch.setattr(opus, "available", lambda: False)
    elif not opus.available():
        pytest.fail("libopus is missing: scripts/bootstrap.sh installs libopus0")
    return str(request.param)


def tone_pcm(frequency: float, count: int) -> list[bytes]:
    tone = Tone(frequency)
    return [tone.read(FRAME_SAMPLES) for _ in range(count)]


def test_opus_is_one_mono_packet_per_frame_and_decodes_to_the_tone(opus_library: str) -> None:
    encoder = track_encoder("opus")
    assert encoder is not None and encoder.samples_per_packet == FRAME_SAMPLES
    payloads = [encoder.encode(pcm) for pcm in tone_pcm(700, 50)]
    assert all(payloads)
    sizes = [len(p) for p in payloads if p is not None]
    # 32 kb/s is 80 bytes per 20 ms on average; aiortc's stereo 96 kb/s was ~240.
    assert sum(sizes) / len(sizes) < OPUS_BIT_RATE / 8 / 50 * 1.5
    # Mono: the TOC byte's stereo flag (bit 2) is clear.
    assert all(p is not None and not p[0] & 0x04 for p in payloads)

    decoder = decoder_for(OPUS)
    assert decoder.sample_rate == SAMPLE_RATE
    decoded = [decoder.decode(p) for p in payloads if p is not None]
    assert {len(pcm) for pcm in decoded} == {FRAME_BYTES}
    heard = analyse(decoded[-25:])
    assert heard.frequency is not None and abs(heard.frequency - 700) < 15


def test_opus_complexity_is_applied_and_bounded(opus_library: str) -> None:
    frames = tone_pcm(523, 20)
    for complexity in (0, 10):
        encoder = track_encoder("opus", opus_complexity=complexity)
        assert encoder is not None
        decoded = decoder_for(OPUS)
        pcm = [decoded.decode(p) for f in frames if (p := encoder.encode(f)) is not None]
        heard = analyse(pcm[-10:])
        assert heard.frequency is not None and abs(heard.frequency - 523) < 15
    with pytest.raises(ValueError):
        MediaOptions(opus_complexity=11)


def test_g711_is_encoded_in_the_track_at_8_khz() -> None:
    encoder = track_encoder("PCMU")
    assert encoder is not None and encoder.samples_per_packet == 160
    payloads = [encoder.encode(pcm) for pcm in tone_pcm(700, 25)]
    # The resampler may hold back the first frame; then one 160-byte payload per frame.
    assert {len(p) for p in payloads[1:] if p is not None} == {160}
    assert sum(p is None for p in payloads) <= 1
    decoder = decoder_for(PCMU)
    assert decoder.sample_rate == 8000
    heard = analyse([decoder.decode(p) for p in payloads[-10:] if p is not None], 8000)
    assert heard.frequency is not None and abs(heard.frequency - 700) < 15
    assert track_encoder("G722") is None


def test_inline_decoding_hands_pcm_over_and_passes_the_stop_on() -> None:
    received: list[tuple[bytes, int]] = []
    inline = InlineDecoding(lambda pcm, rate: received.append((pcm, rate)))
    encoder = track_encoder("opus")
    assert encoder is not None
    for index, pcm in enumerate(tone_pcm(500, 5)):
        payload = encoder.encode(pcm)
        assert payload is not None
        inline.put((OPUS, JitterFrame(data=payload, timestamp=index * FRAME_SAMPLES)))
    assert [(len(pcm), rate) for pcm, rate in received] == [(FRAME_BYTES, SAMPLE_RATE)] * 5
    # G.711 goes through aiortc's own decoder (8 kHz mono).
    inline.put((PCMU, JitterFrame(data=b"\xff" * 160, timestamp=0)))
    assert received[-1][1] == 8000 and len(received[-1][0]) == 320
    assert inline.decode_errors == 0

    # A corrupt frame is lost and counted; the decoder goes on.
    inline.put((PCMU, JitterFrame(data=b"", timestamp=160)))
    inline.put((OPUS, JitterFrame(data=b"\xff\xff\xff", timestamp=960 * 6)))
    assert inline.decode_errors >= 1
    # aiortc's decoder thread blocks in get() until the receiver stops.
    got: list[str] = []

    def wait_for_stop() -> None:
        inline.get()
        got.append("stopped")

    thread = threading.Thread(target=wait_for_stop)
    thread.start()
    inline.put(None)
    thread.join(timeout=5)
    assert not thread.is_alive() and got == ["stopped"]


@pytest.mark.parametrize("codec", ["opus", "PCMU"])
async def test_calls_carry_the_tone_both_ways_with_either_codec(codec: str) -> None:
    options = MediaOptions(host_addresses=["127.0.0.1"], codecs=codec)
    async with connected_pair(
        caller_source=Tone(440),
        callee_source=Tone(1000),
        caller_options=options,
        callee_options=options,
    ) as (caller, callee):
        heard_by_callee = await settled_probe(callee)
        heard_by_caller = await settled_probe(caller)
        assert heard_by_callee.frequency is not None and abs(heard_by_callee.frequency - 440) < 20
        assert heard_by_caller.frequency is not None and abs(heard_by_caller.frequency - 1000) < 20
        assert caller.statistics().frames_received > 0


def test_fast_ntp_time_matches_aiortcs_datetime_clock() -> None:
    ours = _fast_ntp_time()
    theirs = datetime_to_ntp(current_datetime())
    # Same epoch and fixed-point format; the two reads are microseconds apart.
    assert abs(ours - theirs) < (1 << 32) // 100
