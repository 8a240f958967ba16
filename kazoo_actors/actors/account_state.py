"""What an account actor is doing, how a connection of it ended, and what it counts."""

from __future__ import annotations

import enum

import attrs


class AccountState(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    REGISTERED = "registered"
    WAITING = "waiting to reconnect"
    DOWN = "down"
    LOGGED_OUT = "logged out"


class SessionEnd(enum.Enum):
    UNREACHABLE = "unreachable"
    LOST = "lost"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    REJECTED = "rejected"
    REPLACED = "replaced"
    OFFLINE = "offline"
    RECONNECT = "reconnect requested"
    LOGGED_OUT = "logged out"


RESUMABLE_ENDS = frozenset(
    (SessionEnd.LOST, SessionEnd.UNREACHABLE, SessionEnd.REJECTED, SessionEnd.OFFLINE)
)
"""Ends after which auto-reconnect (or the network's return) may bring the account back."""


@attrs.define(kw_only=True)
class AccountStatistics:
    state: str
    registrations: int
    reconnect_attempts: int
    connect_failures: int
    malformed_dropped: int
    messages_sent: int
    messages_received: int
    open_transactions: int
    running_timers: int
    dropped_events: int
    attempt_started_at: float
    """Trio time when the latest connection attempt got its slot (latency is measured from it)."""
