"""What a sans-IO machine asks its owner to do, and the timer event fed back.

The owner (an actor) performs ``Send`` on its transport, keeps one deadline per
timer name, and feeds ``TimerFired(name)`` back when a deadline passes. Starting
a timer whose name is already running replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipmessage import Request, Response

# The actions a usage or transaction builds on every request (Send, StartTimer,
# CancelTimer) write their fields in an __init__ of their own (init=False):
# compiled (setup.py), that is a C function, while the __init__ dataclasses
# generates stays Python code run by the interpreter, several times the cost.
# Frozen, equality, hash and repr are still dataclasses'.


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class Send:
    message: Request | Response

    def __init__(self, *, message: Request | Response) -> None:
        object.__setattr__(self, "message", message)


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class StartTimer:
    name: str
    seconds: float

    def __init__(self, *, name: str, seconds: float) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "seconds", seconds)


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class CancelTimer:
    name: str

    def __init__(self, *, name: str) -> None:
        object.__setattr__(self, "name", name)


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerFired:
    name: str


Action = Send | StartTimer | CancelTimer
