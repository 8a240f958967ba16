"""Signalling-only sessions: valid inactive SDP without any transport."""

from __future__ import annotations

import pytest
from conftest import LOOPBACK, NOT_WEBRTC

from media.bridge import get_bridge
from media.errors import MediaNegotiationError, MediaStateError
from media.options import MediaOptions
from media.session import MediaSession

SIGNALLING_ONLY = MediaOptions(direction="inactive", signalling_only=True)


def audio_section(sdp: str) -> list[str]:
    lines = sdp.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("m=audio"))
    return lines[start:]


async def test_two_signalling_only_sessions_negotiate() -> None:
    async with MediaSession(SIGNALLING_ONLY) as a, MediaSession(SIGNALLING_ONLY) as b:
        offer = await a.create_offer()
        answer = await b.create_answer(offer)
        await a.accept_answer(answer)
        await a.wait_connected()
        assert (a.local_sdp, b.local_sdp) == (offer, answer)
        assert "a=inactive" in audio_section(offer)
        assert "a=inactive" in audio_section(answer)
        assert "a=setup:active" in audio_section(answer)
        assert "a=rtpmap:101 telephone-event/8000" in answer
        assert a.statistics().live_tasks == 0
        with pytest.raises(MediaStateError):
            await a.create_offer()


async def test_a_real_session_accepts_a_signalling_only_offer_and_vice_versa() -> None:
    async with MediaSession(SIGNALLING_ONLY) as light, MediaSession(LOOPBACK) as real:
        answer = await real.create_answer(await light.create_offer())
        assert "a=inactive" in audio_section(answer)
        await light.accept_answer(answer)
    async with MediaSession(LOOPBACK) as real, MediaSession(SIGNALLING_ONLY) as light:
        await real.accept_answer(await light.create_answer(await real.create_offer()))
    assert get_bridge().task_count() == 0


async def test_signalling_only_answers_follow_the_offer_codecs() -> None:
    pcma_only = MediaOptions(host_addresses=["127.0.0.1"], codecs=("PCMA",))
    async with MediaSession(pcma_only) as real, MediaSession(SIGNALLING_ONLY) as light:
        answer = await light.create_answer(await real.create_offer())
    assert audio_section(answer)[0] == "m=audio 9 UDP/TLS/RTP/SAVPF 8 101"


@pytest.mark.parametrize("offer", [NOT_WEBRTC, "garbage", ""])
async def test_signalling_only_rejects_what_a_real_session_rejects(offer: str) -> None:
    async with MediaSession(SIGNALLING_ONLY) as light:
        with pytest.raises(MediaNegotiationError):
            await light.create_answer(offer)


def test_signalling_only_needs_inactive() -> None:
    with pytest.raises(ValueError):
        MediaOptions(signalling_only=True)
