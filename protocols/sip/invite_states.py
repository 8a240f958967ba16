"""The INVITE usage's roles, states and transition table (see ``invite_session``).

``TRANSITIONS`` maps (state, event) to the next state. A local call whose
event is missing for the current state raises ``LocalProtocolError``; remote
input is checked against the table first and absorbed when it does not fit.
"""

from __future__ import annotations

import enum


class Role(enum.Enum):
    UAC = "UAC"
    UAS = "UAS"


class SessionState(enum.Enum):
    IDLE = "idle"
    CALLING = "calling"
    PROCEEDING = "proceeding"
    CANCELLING = "cancelling"
    INCOMING = "incoming"
    RINGING = "ringing"
    ANSWERED = "answered"
    CONFIRMED = "confirmed"
    ENDING = "ending"
    TERMINATED = "terminated"


S = SessionState

TRANSITIONS: dict[tuple[SessionState, str], SessionState] = {
    # UAC
    (S.IDLE, "invite"): S.CALLING,
    (S.CALLING, "provisional"): S.PROCEEDING,
    (S.PROCEEDING, "provisional"): S.PROCEEDING,
    (S.CANCELLING, "provisional"): S.CANCELLING,
    (S.CALLING, "success"): S.CONFIRMED,
    (S.PROCEEDING, "success"): S.CONFIRMED,
    (S.CANCELLING, "success"): S.ENDING,
    (S.CALLING, "failure"): S.TERMINATED,
    (S.PROCEEDING, "failure"): S.TERMINATED,
    (S.CANCELLING, "failure"): S.TERMINATED,
    (S.CALLING, "challenge"): S.CALLING,
    (S.PROCEEDING, "challenge"): S.CALLING,
    (S.CALLING, "cancel"): S.CANCELLING,
    (S.PROCEEDING, "cancel"): S.CANCELLING,
    (S.CANCELLING, "cancel_timeout"): S.TERMINATED,
    # UAS
    (S.IDLE, "offer"): S.INCOMING,
    (S.INCOMING, "ring"): S.RINGING,
    (S.RINGING, "ring"): S.RINGING,
    (S.INCOMING, "accept"): S.ANSWERED,
    (S.RINGING, "accept"): S.ANSWERED,
    (S.INCOMING, "reject"): S.TERMINATED,
    (S.RINGING, "reject"): S.TERMINATED,
    (S.INCOMING, "cancelled"): S.TERMINATED,
    (S.RINGING, "cancelled"): S.TERMINATED,
    (S.INCOMING, "answer_timeout"): S.TERMINATED,
    (S.RINGING, "answer_timeout"): S.TERMINATED,
    (S.ANSWERED, "ack"): S.CONFIRMED,
    (S.ANSWERED, "ack_timeout"): S.ENDING,
    # both, once the call is up (or early)
    (S.CONFIRMED, "bye"): S.ENDING,
    (S.ENDING, "bye_done"): S.TERMINATED,
    (S.PROCEEDING, "bye_received"): S.TERMINATED,
    (S.CANCELLING, "bye_received"): S.TERMINATED,
    (S.INCOMING, "bye_received"): S.TERMINATED,
    (S.RINGING, "bye_received"): S.TERMINATED,
    (S.ANSWERED, "bye_received"): S.TERMINATED,
    (S.CONFIRMED, "bye_received"): S.TERMINATED,
    (S.ENDING, "bye_received"): S.TERMINATED,
    (S.CALLING, "request_failed"): S.TERMINATED,
    (S.PROCEEDING, "request_failed"): S.TERMINATED,
    (S.CANCELLING, "request_failed"): S.TERMINATED,
    (S.ANSWERED, "transport_failed"): S.TERMINATED,
    (S.CONFIRMED, "transport_failed"): S.TERMINATED,
    (S.INCOMING, "transport_failed"): S.TERMINATED,
    (S.RINGING, "transport_failed"): S.TERMINATED,
}
"""(state, event) -> next state; an event missing here is refused (local) or absorbed (remote)."""
