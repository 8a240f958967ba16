"""What a remote SDP must hold before this layer tries to negotiate it."""

from __future__ import annotations

from aiortc import sdp

from media import sdp_events
from media.errors import MediaNegotiationError


def check_remote(text: str) -> sdp.SessionDescription:
    """The parsed remote SDP, if it is something this layer can negotiate at all."""
    description = sdp_events.parse(text)
    kinds = [media.kind for media in description.media]
    if kinds != ["audio"]:
        raise MediaNegotiationError(
            f"expected exactly one audio stream, the SDP has {kinds or 'no media'}"
        )
    media = description.media[0]
    if media.port == 0:
        raise MediaNegotiationError("the audio stream is rejected (port 0)")
    if media.dtls is None or not media.dtls.fingerprints:
        raise MediaNegotiationError(
            "no DTLS fingerprint: only DTLS-SRTP audio (WebRTC) is supported"
        )
    if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
        raise MediaNegotiationError("no ICE credentials in the SDP")
    return description
