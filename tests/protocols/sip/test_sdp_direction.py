"""SDP direction (hold) and the inactive SDP of signalling-only calls."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip.errors import ParseError
from protocols.sip.sdp_direction import answer_direction, offered_direction, with_direction
from protocols.sip.sdp_inactive import inactive_answer, inactive_offer

AUDIO = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", "sendrecv"),
        ("a=sendonly\r\n", "sendonly"),
        ("a=inactive\r\n", "inactive"),
        ("a=recvonly\r\n", "recvonly"),
    ],
)
def test_offered_direction_reads_the_audio_section(extra: str, expected: str) -> None:
    assert offered_direction(AUDIO + extra) == expected


def test_session_level_direction_applies_when_the_stream_has_none() -> None:
    sdp = AUDIO.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n")
    assert offered_direction(sdp) == "sendonly"
    assert offered_direction(sdp + "a=sendrecv\r\n") == "sendrecv"


def test_no_audio_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        offered_direction("v=0\r\nm=video 5000 RTP/AVP 96\r\n")


def test_mirror_and_rewrite() -> None:
    assert [answer_direction(d) for d in ("sendrecv", "sendonly", "recvonly", "inactive")] == [
        "sendrecv",
        "recvonly",
        "sendonly",
        "inactive",
    ]
    rewritten = with_direction(AUDIO + "a=sendrecv\r\nm=video 0 RTP/AVP 96\r\n", "recvonly")
    assert offered_direction(rewritten) == "recvonly"
    assert rewritten.count("a=recvonly") == 1
    assert rewritten.index("a=recvonly") < rewritten.index("m=video")
    with pytest.raises(ValueError):
        with_direction(AUDIO, "sideways")


@given(st.sampled_from(["sendrecv", "sendonly", "recvonly", "inactive"]))
def test_with_direction_round_trips(direction: str) -> None:
    assert offered_direction(with_direction(AUDIO, direction)) == direction


def test_inactive_offer_and_answer() -> None:
    offer = inactive_offer(7)
    assert offered_direction(offer) == "inactive"
    assert "m=audio 9 RTP/AVP 0 8" in offer
    answer = inactive_answer(AUDIO, 8)
    assert "m=audio 9 RTP/AVP 0 101" in answer
    assert offered_direction(answer) == "inactive"
    with pytest.raises(ParseError):
        inactive_answer("v=0\r\nm=audio 1\r\n", 1)
    with pytest.raises(ParseError):
        inactive_answer("v=0\r\n", 1)
