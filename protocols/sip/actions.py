"""What a sans-IO machine asks its owner to do, and the timer event fed back.

The owner (an actor) performs ``Send`` on its transport, keeps one deadline per
timer name, and feeds ``TimerFired(name)`` back when a deadline passes. Starting
a timer whose name is already running replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipmessage import Request, Response


@dataclass(frozen=True, kw_only=True, slots=True)
class Send:
    message: Request | Response


@dataclass(frozen=True, kw_only=True, slots=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerFired:
    name: str


Action = Send | StartTimer | CancelTimer
