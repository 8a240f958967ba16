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

Each kind's tables are compiled once, when its class is created, into
programs: per ``(State, event)`` the next state and the effect handlers to call
(a method per ``Effect``, named after it: ``Effect.SEND_REQUEST`` is
``_send_request``). A step then calls its handlers directly instead of
dispatching every effect through a chain of comparisons, which cost as much
as the work itself.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mypy_extensions import mypyc_attr
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


_EVENT_BY_CLASS = {1: PROVISIONAL, 2: SUCCESS, 3: FAILURE, 4: FAILURE, 5: FAILURE, 6: FAILURE}


def response_event(code: int) -> str:
    event = _EVENT_BY_CLASS.get(code // 100)
    if event is None:
        raise ParseError(f"response status {code} out of range")
    return event


# Actions and events are immutable: the few that every transaction emits are
# built once (a frozen dataclass costs a microsecond to construct).
_TERMINATED = Terminated()
_CANCEL_TIMER = {name: CancelTimer(name=name) for name in ALL_TIMERS}
_START_TIMER: dict[tuple[str, float], StartTimer] = {}
_MAX_START_TIMERS = 256  # distinct (name, seconds) pairs kept; TimerSettings may vary


def _cancel_timer_action(name: str) -> CancelTimer:
    return _CANCEL_TIMER.get(name) or CancelTimer(name=name)


def _start_timer_action(name: str, seconds: float) -> StartTimer:
    key = (name, seconds)
    found = _START_TIMER.get(key)
    if found is None:
        found = StartTimer(name=name, seconds=seconds)
        if len(_START_TIMER) < _MAX_START_TIMERS:
            _START_TIMER[key] = found
    return found


def absorb(table: dict[tuple[State, str], Transition], state: State, *events: str) -> None:
    for event in events:
        table[(state, event)] = (state, ())


# A handler applies one effect: (machine, timer name or "", outputs so far).
Handler = Callable[[Any, str, list[Output]], None]
Program = Mapping[tuple[State, str], tuple[State, tuple[tuple[Handler, str], ...]]]

_TIMER_HANDLERS = {
    TimerVerb.START: "_start_timer",
    TimerVerb.BACKOFF: "_backoff_timer",
    TimerVerb.AT_CAP: "_restart_timer_at_cap",
    TimerVerb.STOP: "_stop_timer",
}
# Looked up on every step: a module constant, not an Enum class attribute.
_IDLE = State.IDLE
_TERMINATED_STATE = State.TERMINATED


def _compile(kind: type[TransactionMachine], table: Table) -> Program:
    def handler(effect: Effect | TimerEffect) -> tuple[Handler, str]:
        if isinstance(effect, TimerEffect):
            return (getattr(kind, _TIMER_HANDLERS[effect.verb]), effect.name)
        name = "_" + effect.name.lower()
        if not hasattr(kind, name):
            raise TypeError(f"{kind.__name__} has no {name} for {effect}")
        return (getattr(kind, name), "")

    return {
        key: (target, tuple(handler(effect) for effect in effects))
        for key, (target, effects) in table.items()
    }


# Compiled (setup.py), the machine and each kind of it stay open to subclasses
# written in Python: a subclass overriding an effect handler gets programs that
# call its override.
@mypyc_attr(allow_interpreted_subclasses=True)
class TransactionMachine:
    """State, running timers and the program walk; subclasses apply the effects."""

    __slots__ = (
        "_budget_used",
        "_current",
        "_intervals",
        "_program",
        "_running",
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
    programs: ClassVar[Mapping[bool, Program]]
    """``tables`` compiled for this class's effect handlers."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Every class with tables, inherited ones too: a subclass that
        # overrides a handler must get programs that call its override.
        tables = getattr(cls, "tables", None)
        if tables is not None:
            cls.programs = {reliable: _compile(cls, table) for reliable, table in tables.items()}

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
    ) -> None:
        method = request.method
        if method == "ACK" or (method == "INVITE") != self.for_invite:
            raise LocalProtocolError(f"create for {method}", "Idle", self.role)
        self._program = self.programs[reliable]
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = _IDLE
        self._running: set[str] = set()
        # Only the retransmission timers (A, E, G) double and are budgeted.
        self._intervals: dict[str, float] = {}
        self._budget_used: dict[str, float] = {}
        self._current: Request | Response | None = None

    @property
    def terminated(self) -> bool:
        return self.state is _TERMINATED_STATE

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
        state = self.state
        found = self._program.get((state, event))
        if found is None:
            raise LocalProtocolError(event, state.value, self.role)
        next_state, handlers = found
        out: list[Output] = []
        self._current = message
        for handler, argument in handlers:
            handler(self, argument, out)
        self._current = None
        if next_state is _TERMINATED_STATE and state is not _TERMINATED_STATE:
            running = self._running
            if running:
                out.extend([_cancel_timer_action(name) for name in sorted(running)])
                running.clear()
            out.append(_TERMINATED)
        self.state = next_state
        return out

    def _stop_timer(self, name: str, out: list[Output]) -> None:
        if name in self._running:
            self._running.discard(name)
            out.append(_cancel_timer_action(name))

    def _start_timer(self, name: str, out: list[Output]) -> None:
        seconds = self.timers.initial(name, self.reliable)
        if name in RETRANSMIT_TIMERS:
            self._budget_used[name] = 0.0
        self._run_timer(name, seconds, out)

    def _backoff_timer(self, name: str, out: list[Output]) -> None:
        seconds = 2 * self._intervals[name]
        cap = self.timers.cap(name)
        self._run_timer(name, seconds if cap is None else min(seconds, cap), out)

    def _restart_timer_at_cap(self, name: str, out: list[Output]) -> None:
        cap = self.timers.cap(name)
        self._run_timer(name, 2 * self._intervals[name] if cap is None else cap, out)

    def _run_timer(self, name: str, seconds: float, out: list[Output]) -> None:
        if name in RETRANSMIT_TIMERS:
            # Never schedule a retransmission the timeout timer would pre-empt.
            used = self._budget_used[name] + seconds
            if used >= self.timers.transaction_timeout:
                return
            self._budget_used[name] = used
            self._intervals[name] = seconds
        self._running.add(name)
        out.append(_start_timer_action(name, seconds))
