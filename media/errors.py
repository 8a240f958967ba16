"""Errors the media layer raises to its Trio callers."""

from __future__ import annotations


class MediaError(Exception):
    """Base class of media-layer errors."""


class MediaNegotiationError(MediaError):
    """The remote SDP cannot be negotiated (the call layer answers 488 Not Acceptable Here)."""


class MediaStateError(MediaError):
    """The session cannot do this now (closed, wrong offer/answer state, no audio to carry it)."""


class DtmfNotNegotiatedError(MediaStateError):
    """The far end did not accept RFC 4733 telephone-events at the audio clock rate
    (the call layer falls back to SIP INFO)."""
