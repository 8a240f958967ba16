"""Opus encoded by the outgoing track (mono packets) and decoded on the loop thread."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import av
import pytest
from aiortc.clock import current_datetime, datetime_to_ntp
from aiortc.codecs import get_encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from conftest import connected_pair, settled_probe

from media.codecs import OPUS_BIT_RATE, OpusPacketEncoder, decoder_for
from media.decoded import frames_to_pcm
from media.options import MediaOptions
from media.pcm import FRAME_SAMPLES, SAMPLE_RATE
from media.probe import analyse
from media.rtp_hooks import InlineDecoding, _fast_ntp_time
from media.sources import Tone

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
PCMU = RTCRtpCodecParameters(mimeType="audio/PCMU", clockRate=8000, channels=1, payloadType=0)


def tone_frames(frequency: float, count: int) -> list[av.AudioFrame]:
    tone = Tone(frequency)
    frames = []
    for index in range(count):
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(tone.read(FRAME_SAMPLES))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * FRAME_SAMPLES
        frames.append(frame)
    return frames


def pts(packet: Any) -> int:
    assert packet.pts is not None
    return int(packet.pts)


def test_opus_packets_are_one_per_frame_mono_and_decode_to_the_tone() -> None:
    encoder = OpusPacketEncoder()
    packets = [p for frame in tone_frames(700, 50) for p in encoder.encode(frame)]
    assert len(packets) == 50
    # 32 kb/s is 80 bytes per 20 ms on average; aiortc's stereo 96 kb/s was ~240.
    assert sum(len(bytes(p)) for p in packets) / len(packets) < OPUS_BIT_RATE / 8 / 50 * 1.5
    steps = {pts(b) - pts(a) for a, b in itertools.pairwise(packets)}
    assert steps == {FRAME_SAMPLES}
    # aiortc only packs a packet: its pts in this time base becomes the RTP timestamp.
    payloads, _ = get_encoder(OPUS).pack(packets[1])
    assert payloads == [bytes(packets[1])]

    decoder = decoder_for(OPUS)
    decoded: list[Any] = [
        frame
        for packet in packets
        for frame in decoder.decode(JitterFrame(data=bytes(packet), timestamp=pts(packet)))
    ]
    assert {(f.layout.name, f.samples, f.format.name) for f in decoded} == {("mono", 960, "s16")}
    heard = analyse(frames_to_pcm(decoded[-25:]))
    assert heard.frequency is not None and abs(heard.frequency - 700) < 15


def test_inline_decoding_hands_frames_over_and_passes_the_stop_on() -> None:
    received: list[Any] = []
    inline = InlineDecoding(received.append)
    encoder = OpusPacketEncoder()
    packets = [p for frame in tone_frames(500, 5) for p in encoder.encode(frame)]
    for packet in packets:
        inline.put((OPUS, JitterFrame(data=bytes(packet), timestamp=pts(packet))))
    assert len(received) == 5
    # G.711 goes through aiortc's own decoder (8 kHz mono).
    inline.put((PCMU, JitterFrame(data=b"\xff" * 160, timestamp=0)))
    assert received[-1].sample_rate == 8000
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
