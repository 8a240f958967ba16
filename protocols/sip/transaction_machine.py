"""The table-driven core shared by the four transaction kinds.

A transaction kind is a transition table: a mapping from ``(State, event)`` to
``(next State, effects)``, built once per transport reliability at import time
(as in h11's ``_state.py``). Events are strings: ``"start"``, ``"1xx"``,
``"2xx"``, ``"3xx-6xx"`` (responses received or, prefixed ``"respond "``, sent
by the TU), ``"request"`` and ``"ACK"`` (a server's retransmitted request),
``"timer <name>"`` and ``"transport error"``.

A pair missing from the table is illegal and raises
``LocalProtocolError(event, state, role)``. Tables absorb every input from the
wire in every state (including Terminated), so only a local misuse can raise:
firing a timer that is not running, responding after the final response,
starting twice.

Entering Terminated is handled here once for every kind: all running timers are
cancelled and ``Terminated()`` is emitted.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from sipmessage import Request, Response

from .actions import CancelTimer, StartTimer
from .errors import LocalProtocolError, ParseError
from .transaction_events import Output, Terminated
from .transaction_timers import ALL_TIMERS, DEFAULT_TIMERS, RETRANSMIT_TIMERS, TimerSettings


class State(enum.Enum):
    # Keys of the transition table, looked up on every step: Enum's own __hash__
    # is a Python-level function, while members compare by identity anyway.
    __hash__ = object.__hash__

    IDLE = "Idle"
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class Effect(enum.Enum):
    SEND_REQUEST = "send the request"
    SEND_ACK = "send the ACK for the non-2xx final"
    PASS_RESPONSE = "pass the response to the TU"
    PASS_2XX = "pass a 2xx, marking retransmissions"
    PASS_REQUEST = "pass the request to the TU"
    SEND_RESPONSE = "send the TU's response"
    RESEND_RESPONSE = "resend the last response"
    SEND_TRYING = "send 100 Trying"
    TIMED_OUT = "report a timeout"
    TRANSPORT_FAILED = "report a transport failure"


class TimerVerb(enum.Enum):
    START = "start"
    BACKOFF = "double up to the cap"
    AT_CAP = "restart at the cap"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class TimerEffect:
    verb: TimerVerb
    name: str


def start(name: str) -> TimerEffect:
    return TimerEffect(TimerVerb.START, name)


def backoff(name: str) -> TimerEffect:
    return TimerEffect(TimerVerb.BACKOFF, name)


def at_cap(name: str) -> TimerEffect:
    return TimerEffect(TimerVerb.AT_CAP, name)


def stop(*names: str) -> tuple[TimerEffect, ...]:
    return tuple(TimerEffect(TimerVerb.STOP, name) for name in names)


Transition = tuple[State, tuple[Effect | TimerEffect, ...]]
Table = Mapping[tuple[State, str], Transition]

START = "start"
TRANSPORT_ERROR = "transport error"
PROVISIONAL = "1xx"
SUCCESS = "2xx"
FAILURE = "3xx-6xx"
RESPONSE_EVENTS = (PROVISIONAL, SUCCESS, FAILURE)


def timer_event(name: str) -> str:
    return f"timer {name}"


def response_event(code: int) -> str:
    if 100 <= code < 200:
        return PROVISIONAL
    if 200 <= code < 300:
        return SUCCESS
    if 300 <= code < 700:
        return FAILURE
    raise ParseError(f"response status {code} out of range")


# Actions and events are immutable: the few that every transaction emits are
# built once (a frozen dataclass costs a microsecond to construct).
_TERMINATED = Terminated()
_CANCEL_TIMER = {name: CancelTimer(name=name) for name in ALL_TIMERS}
_START_TIMER: dict[tuple[str, float], StartTimer] = {}
_MAX_START_TIMERS = 256  # distinct (name, seconds) pairs kept; TimerSettings may vary


def _start_timer(name: str, seconds: float) -> StartTimer:
    key = (name, seconds)
    found = _START_TIMER.get(key)
    if found is None:
        found = StartTimer(name=name, seconds=seconds)
        if len(_START_TIMER) < _MAX_START_TIMERS:
            _START_TIMER[key] = found
    return found


def _cancel_timer(name: str) -> CancelTimer:
    return _CANCEL_TIMER.get(name) or CancelTimer(name=name)


def absorb(table: dict[tuple[State, str], Transition], state: State, *events: str) -> None:
    for event in events:
        table[(state, event)] = (state, ())


class TransactionMachine:
    """State, running timers and the table walk; subclasses apply the effects."""

    __slots__ = (
        "_budget_used",
        "_current",
        "_intervals",
        "_running",
        "_table",
        "reliable",
        "request",
        "state",
        "timers",
    )

    role: ClassVar[str] = "transaction"
    for_invite: ClassVar[bool]
    """True for the INVITE kinds (only INVITE), False for the others (neither INVITE nor ACK)."""
    tables: ClassVar[Mapping[bool, Table]]
    """The transition table for a reliable (True) and an unreliable (False) transport."""

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
    ) -> None:
        method = request.method
        if method == "ACK" or (method == "INVITE") != self.for_invite:
            raise LocalProtocolError(f"create for {method}", "Idle", self.role)
        table = self.tables[reliable]
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = State.IDLE
        self._table = table
        self._running: set[str] = set()
        self._intervals: dict[str, float] = {}
        self._budget_used: dict[str, float] = {}
        self._current: Request | Response | None = None

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    @property
    def running_timers(self) -> frozenset[str]:
        return frozenset(self._running)

    def timer_fired(self, name: str) -> list[Output]:
        """Feed back a timer this machine started and did not cancel."""
        if name not in self._running:
            raise LocalProtocolError(timer_event(name), self.state.value, self.role)
        self._running.discard(name)
        return self._step(timer_event(name))

    def transport_error(self) -> list[Output]:
        """The transport could not send one of this machine's messages."""
        return self._step(TRANSPORT_ERROR)

    def _step(self, event: str, message: Request | Response | None = None) -> list[Output]:
        transition = self._table.get((self.state, event))
        if transition is None:
            raise LocalProtocolError(event, self.state.value, self.role)
        next_state, effects = transition
        out: list[Output] = []
        self._current = message
        for effect in effects:
            if isinstance(effect, TimerEffect):
                self._apply_timer(effect, out)
            else:
                self._apply(effect, out)
        self._current = None
        if next_state is State.TERMINATED and self.state is not State.TERMINATED:
            if self._running:
                out.extend([_cancel_timer(name) for name in sorted(self._running)])
                self._running.clear()
            out.append(_TERMINATED)
        self.state = next_state
        return out

    def _apply(self, effect: Effect, out: list[Output]) -> None:
        raise LocalProtocolError(effect.value, self.state.value, self.role)

    def _apply_timer(self, effect: TimerEffect, out: list[Output]) -> None:
        name = effect.name
        if effect.verb is TimerVerb.STOP:
            if name in self._running:
                self._running.discard(name)
                out.append(_cancel_timer(name))
            return
        if effect.verb is TimerVerb.START:
            seconds = self.timers.initial(name, self.reliable)
            self._budget_used[name] = 0.0
        else:
            cap = self.timers.cap(name)
            if effect.verb is TimerVerb.AT_CAP and cap is not None:
                seconds = cap
            else:
                seconds = 2 * self._intervals[name]
                if cap is not None:
                    seconds = min(seconds, cap)
        if name in RETRANSMIT_TIMERS:
            # Never schedule a retransmission the timeout timer would pre-empt.
            used = self._budget_used[name] + seconds
            if used >= self.timers.transaction_timeout:
                return
            self._budget_used[name] = used
        self._intervals[name] = seconds
        self._running.add(name)
        out.append(_start_timer(name, seconds))
