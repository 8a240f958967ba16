"""RFC 4733 telephone-events: the pure sender/receiver, and digits between two sessions."""

from __future__ import annotations

import pytest
import trio
from conftest import LOOPBACK, connected_pair

from media.dtmf import (
    DIGITS,
    END_REPEATS,
    DtmfEvent,
    EventReceiver,
    EventSender,
    OutgoingPacket,
    decode_payload,
    encode_payload,
)
from media.errors import DtmfNotNegotiatedError
from media.options import MediaOptions
from media.session import MediaSession
from media.sources import Tone


def run_sender(
    sender: EventSender, start: int, packets: int, step: int
) -> list[OutgoingPacket | None]:
    return [sender.on_audio_packet((start + i * step) & 0xFFFFFFFF) for i in range(packets)]


def test_sender_follows_rfc4733_timing() -> None:
    sender = EventSender(8000, gap_ms=0)
    done: list[str] = []
    sender.enqueue("5", 100, lambda: done.append("5"))
    out = run_sender(sender, start=0xFFFFFF00, packets=10, step=160)
    events = [p for p in out if p is not None]
    # 100 ms at 20 ms per packet: 4 growing packets, then the end packet 3 times.
    assert len(events) == 4 + END_REPEATS
    assert [p.marker for p in events] == [True] + [False] * (len(events) - 1)
    assert {p.timestamp for p in events} == {0xFFFFFF00}
    decoded = [decode_payload(p.payload) for p in events]
    assert [d.duration for d in decoded] == [160, 320, 480, 640, 800, 800, 800]
    assert [d.end for d in decoded] == [False] * 4 + [True] * END_REPEATS
    assert {d.code for d in decoded} == {5}
    assert done == ["5"]
    assert out[len(events) :] == [None] * (10 - len(events))


def test_sender_leaves_a_gap_between_events() -> None:
    sender = EventSender(48000, gap_ms=60)
    sender.enqueue("12", 40, None)
    out = run_sender(sender, start=0, packets=20, step=960)
    starts = [i for i, p in enumerate(out) if p is not None and p.marker]
    assert len(starts) == 2
    first_end = max(i for i, p in enumerate(out) if p is not None and i < starts[1])
    assert all(p is None for p in out[first_end + 1 : starts[1]])
    assert starts[1] - first_end - 1 >= 3


@pytest.mark.parametrize("bad", ["", "12x", "E", " ", "1,2"])
def test_invalid_digits_raise_and_queue_nothing(bad: str) -> None:
    sender = EventSender(8000)
    with pytest.raises(ValueError):
        sender.enqueue(bad, 250, None)
    assert sender.pending() == 0


def test_receiver_reports_each_event_once_in_order() -> None:
    receiver = EventReceiver()
    got: list[DtmfEvent] = []
    for ts, code in ((1000, 1), (5000, 11), (9000, 15)):
        for duration in (160, 320, 480):
            got += receiver.feed(
                encode_payload(code, end=False, volume=10, duration=duration), ts, 8000
            )
        for _ in range(END_REPEATS):
            got += receiver.feed(encode_payload(code, end=True, volume=10, duration=640), ts, 8000)
    assert got == [DtmfEvent("1", 80), DtmfEvent("#", 80), DtmfEvent("D", 80)]


def test_receiver_reports_an_event_whose_end_was_lost() -> None:
    receiver = EventReceiver()
    assert receiver.feed(encode_payload(3, end=False, volume=10, duration=800), 100, 8000) == []
    got = receiver.feed(encode_payload(4, end=True, volume=10, duration=400), 9000, 8000)
    assert got == [DtmfEvent("3", 100), DtmfEvent("4", 50)]


def test_receiver_ignores_short_payloads_and_non_digit_events() -> None:
    receiver = EventReceiver()
    assert receiver.feed(b"\x01\x80", 1, 8000) == []
    assert receiver.feed(encode_payload(16, end=True, volume=0, duration=100), 2, 8000) == []
    assert receiver.malformed == 1
    assert len(DIGITS) == 16


async def received(session: MediaSession, count: int) -> list[DtmfEvent]:
    events = []
    with trio.fail_after(3):
        for _ in range(count):
            events.append(await session.dtmf_received.receive())
    return events


async def test_digits_arrive_in_order_both_ways() -> None:
    fast = MediaOptions(host_addresses=["127.0.0.1"], dtmf_duration_ms=80, dtmf_gap_ms=40)
    async with connected_pair(
        caller_source=Tone(440), callee_source=Tone(880), caller_options=fast, callee_options=fast
    ) as (a, b):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.send_dtmf, "159#*")
            nursery.start_soon(b.send_dtmf, "0aD")
        to_b = await received(b, 5)
        to_a = await received(a, 3)
        # Audio resumes after the events (the receiver's jitter buffer did not stall).
        await trio.sleep(0.3)
        assert b.probe().frequency == pytest.approx(440, abs=5)
    assert "".join(e.digit for e in to_b) == "159#*"
    assert "".join(e.digit for e in to_a) == "0AD"
    assert {e.duration_ms for e in to_b + to_a} == {80}
    assert a.statistics().dtmf_sent == 5


async def test_default_event_lasts_250_ms() -> None:
    async with connected_pair(caller_source=Tone(440)) as (a, b):
        await a.send_dtmf("7")
        assert await received(b, 1) == [DtmfEvent("7", 250)]


async def test_invalid_digit_sends_nothing() -> None:
    async with connected_pair() as (a, b):
        with pytest.raises(ValueError):
            await a.send_dtmf("12Z")
        await trio.sleep(0.1)
        with pytest.raises(trio.WouldBlock):
            b.dtmf_received.receive_nowait()
        assert a.statistics().dtmf_sent == 0


async def test_dtmf_needs_negotiated_telephone_event() -> None:
    plain = MediaOptions(host_addresses=["127.0.0.1"], telephone_events=False)
    async with connected_pair(caller_options=plain) as (a, b):
        with pytest.raises(DtmfNotNegotiatedError):
            await a.send_dtmf("1")
        with pytest.raises(DtmfNotNegotiatedError):
            await b.send_dtmf("1")


async def test_telephone_event_offered_at_both_clocks() -> None:
    async with MediaSession(LOOPBACK) as session:
        offer = await session.create_offer()
    assert "a=rtpmap:110 telephone-event/48000" in offer
    assert "a=rtpmap:101 telephone-event/8000" in offer
    assert "a=fmtp:101 0-16" in offer


async def test_digits_ride_on_g711_at_the_8khz_clock() -> None:
    pcmu = MediaOptions(host_addresses=["127.0.0.1"], codecs=("PCMU",), dtmf_duration_ms=100)
    async with connected_pair(caller_source=Tone(600), caller_options=pcmu) as (a, b):
        await a.send_dtmf("42")
        assert await received(b, 2) == [DtmfEvent("4", 100), DtmfEvent("2", 100)]
        await trio.sleep(0.3)
        assert b.probe().frequency == pytest.approx(600, abs=5)
