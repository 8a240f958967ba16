"""MediaSession end to end on loopback: tones, mute, inactive, negotiation errors, cleanup."""

from __future__ import annotations

import threading

import pytest
import trio
from conftest import LOOPBACK, NOT_WEBRTC, connected_pair, settled_probe

from media.bridge import THREAD_NAME, get_bridge
from media.errors import MediaNegotiationError, MediaStateError
from media.options import MediaOptions
from media.session import MediaSession
from media.sources import Tone


async def test_each_side_hears_the_other_tone() -> None:
    async with connected_pair(caller_source=Tone(440), callee_source=Tone(1000)) as (a, b):
        heard_by_a = await settled_probe(a)
        heard_by_b = b.probe()
    assert heard_by_a.frequency == pytest.approx(1000, abs=5)
    assert heard_by_b.frequency == pytest.approx(440, abs=5)
    assert heard_by_a.level_dbfs > -20
    assert a.statistics().setup_seconds is not None


async def test_mute_sends_silence_and_unmute_restores_the_tone() -> None:
    async with connected_pair(caller_source=Tone(700)) as (a, b):
        assert (await settled_probe(b)).frequency == pytest.approx(700, abs=5)
        a.set_muted(True)
        muted = await settled_probe(b)
        assert muted.silent, muted
        a.set_muted(False)
        restored = await settled_probe(b)
        assert restored.frequency == pytest.approx(700, abs=5)
        # Muting is not a renegotiation: the RTP stream never stopped.
        assert a.state == b.state == "connected"


async def test_inactive_offer_negotiates_without_audio() -> None:
    inactive = MediaOptions(host_addresses=["127.0.0.1"], direction="inactive")
    async with MediaSession(inactive) as a, MediaSession(LOOPBACK, source=Tone(500)) as b:
        offer = await a.create_offer()
        assert "a=inactive" in offer.splitlines()
        answer = await b.create_answer(offer)
        assert "a=inactive" in answer.splitlines()
        await a.accept_answer(answer)
        with trio.fail_after(5):
            await a.wait_connected()
        await trio.sleep(0.2)
        assert a.statistics().frames_received == 0
        assert b.statistics().frames_received == 0


@pytest.mark.parametrize(
    "offer",
    [
        pytest.param(NOT_WEBRTC, id="plain-rtp"),
        pytest.param("this is not sdp", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
async def test_unusable_offers_raise_negotiation_error(offer: str) -> None:
    async with MediaSession(LOOPBACK) as session:
        with pytest.raises(MediaNegotiationError):
            await session.create_answer(offer)


async def test_offer_with_no_common_codec_raises_negotiation_error() -> None:
    async with MediaSession(LOOPBACK) as a, MediaSession(LOOPBACK) as b:
        offer = await a.create_offer()
        lines = []
        for line in offer.splitlines():
            if line.startswith("m=audio"):
                port, profile = line.split()[1:3]
                lines += [f"m=audio {port} {profile} 9", "a=rtpmap:9 G722/8000"]
            elif not line.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb")):
                lines.append(line)
        g722_only = "\r\n".join(lines) + "\r\n"
        with pytest.raises(MediaNegotiationError):
            await b.create_answer(g722_only)
    # The half-built peer connection of the failed answer went away with the session.
    assert get_bridge().task_count() == 0


async def test_unusable_answer_raises_negotiation_error() -> None:
    async with MediaSession(LOOPBACK) as a:
        await a.create_offer()
        with pytest.raises(MediaNegotiationError):
            await a.accept_answer(NOT_WEBRTC)


async def test_closing_leaves_no_tasks_and_no_threads_but_the_bridge() -> None:
    before = set(threading.enumerate())
    async with connected_pair(caller_source=Tone(300)) as (a, b):
        assert get_bridge().task_count() > 0
        assert a.statistics().live_tasks > 0
    assert get_bridge().task_count() == 0
    assert a.statistics().live_tasks == b.statistics().live_tasks == 0
    new_threads = {t.name for t in set(threading.enumerate()) - before}
    assert new_threads <= {THREAD_NAME}
    assert a.state == "closed"
    with pytest.raises(MediaStateError):
        await a.create_offer()


async def test_answer_before_offer_is_a_state_error() -> None:
    async with MediaSession(LOOPBACK) as a, MediaSession(LOOPBACK) as b:
        offer = await b.create_offer()
        with pytest.raises(MediaStateError):
            await a.accept_answer(offer)
