"""SDP for signalling-only calls: an audio stream offered and answered ``a=inactive``.

Load tests that measure call setup through a server need valid offers and
answers without the cost of ICE, DTLS and codecs (RFC 3264 s.5.1: an inactive
stream is still negotiated). Port 9 (discard) follows RFC 8839's placeholder.
"""

from __future__ import annotations

from .errors import ParseError
from .sdp_direction import offered_direction

_FORMATS = "0 8"


def _sdp(session_id: int, formats: str) -> str:
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio 9 RTP/AVP {formats}",
        "a=inactive",
    ]
    return "\r\n".join(lines) + "\r\n"


def inactive_offer(session_id: int) -> str:
    """An offer of PCMU and PCMA, inactive."""
    return _sdp(session_id, _FORMATS)


def inactive_answer(offer: str, session_id: int) -> str:
    """An inactive answer accepting the formats of the offer's first audio stream;
    ParseError when the offer has no audio stream."""
    offered_direction(offer)  # ParseError without m=audio
    for line in offer.replace("\r\n", "\n").split("\n"):
        if line.startswith("m=audio "):
            parts = line.split()
            if len(parts) < 4:
                raise ParseError(f"malformed media line: {line[:60]!r}")
            return _sdp(session_id, " ".join(parts[3:]))
    raise ParseError("SDP offer has no m=audio section")
