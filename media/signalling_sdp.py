"""SDP for signalling-only calls: a valid WebRTC audio offer/answer with ``a=inactive`` and
no transport behind it.

A peer connection costs an ICE agent, a DTLS handshake and a certificate per call (about
8 ms of CPU per side here), which caps signalling-only load far below the hundreds of call
setups per second a soak run wants. With ``MediaOptions(signalling_only=True)`` a session
writes and checks SDP with this module instead: the same codecs and telephone-events as a
real session, ICE credentials, a fingerprint of one process-wide certificate, port 9 and no
candidates, so nothing is ever sent or received. A remote SDP is checked exactly as for a
real session (one audio stream, DTLS-SRTP, a codec in common), so a bad offer still gets
MediaNegotiationError and a 488.
"""

from __future__ import annotations

import secrets
import string
import threading
import time

from aiortc import sdp
from aiortc.rtcdtlstransport import RTCCertificate

from media import sdp_events
from media.errors import MediaNegotiationError, MediaStateError
from media.options import MediaOptions
from media.remote_sdp import check_remote

_ICE_CHARS = string.ascii_letters + string.digits
_certificate: RTCCertificate | None = None
_certificate_lock = threading.Lock()

# What each codec name offers: payload type, rtpmap, clock rate.
_CODECS = {
    "opus": (96, "opus/48000/2", 48_000),
    "pcmu": (0, "PCMU/8000", 8_000),
    "pcma": (8, "PCMA/8000", 8_000),
}


def _fingerprints() -> list[str]:
    global _certificate
    with _certificate_lock:
        if _certificate is None:
            _certificate = RTCCertificate.generateCertificate()
        return [f"{f.algorithm} {f.value}" for f in _certificate.getFingerprints()]


def _random(length: int) -> str:
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(length))


class SignallingOnlySdp:
    """Offer/answer state of one signalling-only session (plain, synchronous)."""

    def __init__(self, options: MediaOptions) -> None:
        self.options = options
        self._state = "new"
        self._ufrag = _random(4)
        self._pwd = _random(22)
        self._session_id = time.time_ns() // 1000

    def create_offer(self) -> str:
        if self._state != "new":
            raise MediaStateError("this media session already negotiated")
        self._state = "offered"
        codecs = [_CODECS[name.lower()] for name in self.options.codecs]
        events = {}
        if self.options.telephone_events:
            clocks = {clock for _, _, clock in codecs}
            events = {pt: c for pt, c in sdp_events.OFFERED.items() if c in clocks}
        return self._write(mid="0", codecs=codecs, events=events, setup="actpass")

    def accept_answer(self, answer: str) -> None:
        if self._state != "offered":
            raise MediaStateError("accept_answer needs an offer of ours waiting for its answer")
        description = check_remote(answer)
        dtls = description.media[0].dtls
        if dtls is None or dtls.role not in ("client", "server"):
            raise MediaNegotiationError("an answer must say a=setup:active or passive")
        self._common_codecs(description)
        self._state = "negotiated"

    def create_answer(self, offer: str) -> str:
        if self._state != "new":
            raise MediaStateError("this media session already negotiated")
        description = check_remote(offer)
        codecs = self._common_codecs(description)
        clocks = {clock for _, _, clock in codecs}
        events = {}
        if self.options.telephone_events:
            events = {
                pt: c for pt, c in sdp_events.telephone_events(description).items() if c in clocks
            }
        self._state = "negotiated"
        mid = description.media[0].rtp.muxId or "0"
        return self._write(mid=mid, codecs=codecs, events=events, setup="active")

    def _common_codecs(self, description: sdp.SessionDescription) -> list[tuple[int, str, int]]:
        offered = description.media[0].rtp.codecs
        ours = [name.lower() for name in self.options.codecs]
        common = []
        for codec in offered:
            name = codec.name.lower()
            if (
                name in ours
                and codec.clockRate == _CODECS[name][2]
                and codec.payloadType is not None
            ):
                _, rtpmap, clock = _CODECS[name]
                common.append((codec.payloadType, rtpmap, clock))
        if not common:
            raise MediaNegotiationError("no audio codec in common (we take Opus, PCMU, PCMA)")
        return common

    def _write(
        self,
        *,
        mid: str,
        codecs: list[tuple[int, str, int]],
        events: dict[int, int],
        setup: str,
    ) -> str:
        formats = [pt for pt, _, _ in codecs] + sorted(events)
        lines = [
            "v=0",
            f"o=- {self._session_id} {self._session_id} IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            f"a=group:BUNDLE {mid}",
            "a=msid-semantic:WMS *",
            f"m=audio 9 UDP/TLS/RTP/SAVPF {' '.join(map(str, formats))}",
            "c=IN IP4 0.0.0.0",
            "a=inactive",
            f"a=mid:{mid}",
            "a=rtcp:9 IN IP4 0.0.0.0",
            "a=rtcp-mux",
        ]
        lines += [f"a=rtpmap:{pt} {rtpmap}" for pt, rtpmap, _ in codecs]
        for pt in sorted(events):
            lines += [f"a=rtpmap:{pt} telephone-event/{events[pt]}", f"a=fmtp:{pt} 0-16"]
        lines += [
            "a=end-of-candidates",
            f"a=ice-ufrag:{self._ufrag}",
            f"a=ice-pwd:{self._pwd}",
        ]
        lines += [f"a=fingerprint:{value}" for value in _fingerprints()]
        lines.append(f"a=setup:{setup}")
        return "\r\n".join(lines) + "\r\n"
