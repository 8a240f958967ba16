"""The media direction of an SDP body (RFC 4566 s.6, RFC 3264 s.6.1), as hold needs it.

A call put on hold by the far end offers ``a=sendonly`` or ``a=inactive``; the
answer mirrors it (``recvonly`` / ``inactive``). Only the session-level and
first audio section's direction attributes are read and rewritten: that is
all a one-stream audio call carries.
"""

from __future__ import annotations

from .errors import ParseError

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


def _lines(sdp: str) -> list[str]:
    return [line for line in sdp.replace("\r\n", "\n").split("\n") if line]


def offered_direction(sdp: str) -> str:
    """The audio direction an SDP offers (``sendrecv`` when none is written).

    ParseError when the body has no ``m=audio`` section: such an offer cannot
    be negotiated by an audio-only endpoint (answer 488).
    """
    session_direction = "sendrecv"
    in_audio = False
    audio_seen = False
    audio_direction: str | None = None
    for line in _lines(sdp):
        if line.startswith("m="):
            in_audio = line.startswith("m=audio ") and not audio_seen
            audio_seen = audio_seen or in_audio
            continue
        if line.startswith("a=") and line[2:] in DIRECTIONS:
            if not audio_seen:
                session_direction = line[2:]
            elif in_audio:
                audio_direction = line[2:]
    if not audio_seen:
        raise ParseError("SDP offer has no m=audio section")
    return audio_direction or session_direction


def answer_direction(offered: str) -> str:
    return _MIRROR[offered]


def with_direction(sdp: str, direction: str) -> str:
    """``sdp`` with its audio direction set to ``direction`` (CRLF line ends)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown SDP direction {direction!r}")
    out: list[str] = []
    in_audio = False
    written = False
    for line in _lines(sdp):
        if line.startswith("m="):
            if in_audio and not written:
                out.append(f"a={direction}")
                written = True
            in_audio = line.startswith("m=audio ") and not written
            out.append(line)
            continue
        if line.startswith("a=") and line[2:] in DIRECTIONS:
            continue
        out.append(line)
    if in_audio and not written:
        out.append(f"a={direction}")
    return "\r\n".join(out) + "\r\n"
