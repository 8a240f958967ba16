"""What an ``InviteSession`` reports to its owner, among its actions."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.Enum):
    REJECTED = "rejected"
    """A final 3xx-6xx to the INVITE, either way (busy, declined, not found, 488...)."""
    CANCELLED = "cancelled"
    """Cancelled before the answer, either way (including a 2xx that crossed our CANCEL)."""
    HUNG_UP = "hung up"
    """A BYE after the answer, either way."""
    FAILED = "failed"
    """No answer to a request (timeout, transport failure) or no ACK for our 2xx."""
    UNANSWERED = "unanswered"
    """An incoming call nobody accepted in time (answered 480)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """A provisional response from the far end (UAC): ringing, early media (with SDP)."""

    code: int
    reason: str
    sdp: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Answered:
    """The far end answered (UAC; the ACK is among the outputs). ``sdp`` is its answer."""

    sdp: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Confirmed:
    """The ACK for our 2xx arrived (UAS): the call is up."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoteDirection:
    """A re-INVITE or UPDATE from the far end set the media direction (hold is
    ``sendonly``/``inactive`` from its side); it was answered automatically."""

    direction: str
    on_hold: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class DtmfReceived:
    digit: str
    duration_ms: int


@dataclass(frozen=True, kw_only=True, slots=True)
class InfoIgnored:
    """An INFO whose body could not be read; answered 200 and otherwise ignored."""

    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class InfoResult:
    """The final response to an INFO we sent (e.g. a DTMF digit)."""

    code: int
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Ended:
    """The call is over; exactly one per session. ``by`` is ``local`` or ``remote``."""

    outcome: Outcome
    code: int
    reason: str
    by: str


SessionEvent = (
    Progress
    | Answered
    | Confirmed
    | RemoteDirection
    | DtmfReceived
    | InfoIgnored
    | InfoResult
    | Ended
)
