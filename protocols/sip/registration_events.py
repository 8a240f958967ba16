"""What the registration usage reports, its states, and its transition table.

As in h11's ``_state.py`` the legal transitions are data: ``TRANSITIONS`` maps
(state, input) to the next state, and anything missing is a caller bug raised
as ``LocalProtocolError``. Responses and timers that arrive for a request or a
timer that is no longer current are not inputs: the machine drops them before
the table is consulted, because they are races the owner cannot avoid.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import LocalProtocolError

# The events write their fields in an __init__ of their own (init=False): compiled
# (setup.py), that is a C function, while the __init__ dataclasses generates stays
# Python code run by the interpreter, several times the cost, for every REGISTER
# answered. Frozen, equality, hash and repr are still dataclasses'.


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class Registered:
    """The registrar accepted the binding for ``expires`` seconds."""

    expires: int
    refresh_in: float

    def __init__(self, *, expires: int, refresh_in: float) -> None:
        object.__setattr__(self, "expires", expires)
        object.__setattr__(self, "refresh_in", refresh_in)


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class RegistrationFailed:
    """A REGISTER ended without a binding.

    ``code`` is the final status; ``local`` is True when no response came at all
    (transaction timeout as 408, transport failure as 503, RFC 3261 s.8.1.3.1).
    ``retry_after`` carries the server's Retry-After seconds when it sent one.
    """

    code: int
    reason: str
    retry_after: int | None = None
    local: bool = False

    def __init__(
        self, *, code: int, reason: str, retry_after: int | None = None, local: bool = False
    ) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "retry_after", retry_after)
        object.__setattr__(self, "local", local)


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class Unregistered:
    """The binding is gone; ``confirmed`` when the registrar said so with a 2xx."""

    confirmed: bool = True

    def __init__(self, *, confirmed: bool = True) -> None:
        object.__setattr__(self, "confirmed", confirmed)


RegistrationEvent = Registered | RegistrationFailed | Unregistered


class RegistrationState(enum.Enum):
    # Keys of the transition table, looked up on every step: Enum's own __hash__
    # is a Python-level function, while members compare by identity anyway.
    __hash__ = object.__hash__

    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    UNREGISTERING = "unregistering"
    FAILED = "failed"


class RegistrationInput(enum.Enum):
    __hash__ = object.__hash__  # as RegistrationState's

    REGISTER = "register"
    UNREGISTER = "unregister"
    REFRESH_TIMER = "refresh timer"
    RETRY = "retry after challenge or 423"
    ACCEPTED = "2xx response"
    REJECTED = "failure response"
    REQUEST_FAILED = "request failed"
    TRANSPORT_RESET = "transport reset"


_S = RegistrationState
_I = RegistrationInput

TRANSITIONS: dict[tuple[RegistrationState, RegistrationInput], RegistrationState] = {
    (_S.IDLE, _I.REGISTER): _S.REGISTERING,
    (_S.FAILED, _I.REGISTER): _S.REGISTERING,
    (_S.REGISTERED, _I.REGISTER): _S.REGISTERING,
    (_S.REGISTERED, _I.REFRESH_TIMER): _S.REGISTERING,
    (_S.REGISTERING, _I.RETRY): _S.REGISTERING,
    (_S.REGISTERING, _I.ACCEPTED): _S.REGISTERED,
    (_S.REGISTERING, _I.REJECTED): _S.FAILED,
    (_S.REGISTERING, _I.REQUEST_FAILED): _S.FAILED,
    # Unregistering is allowed from anywhere but itself: from IDLE or FAILED it
    # clears a binding a previous connection may have left on the registrar;
    # from REGISTERING it waits for the REGISTER in flight (s.10.2: one at a time).
    (_S.IDLE, _I.UNREGISTER): _S.UNREGISTERING,
    (_S.FAILED, _I.UNREGISTER): _S.UNREGISTERING,
    (_S.REGISTERED, _I.UNREGISTER): _S.UNREGISTERING,
    (_S.REGISTERING, _I.UNREGISTER): _S.UNREGISTERING,
    (_S.UNREGISTERING, _I.RETRY): _S.UNREGISTERING,
    (_S.UNREGISTERING, _I.ACCEPTED): _S.IDLE,
    (_S.UNREGISTERING, _I.REJECTED): _S.IDLE,
    (_S.UNREGISTERING, _I.REQUEST_FAILED): _S.IDLE,
    **{(state, _I.TRANSPORT_RESET): _S.IDLE for state in RegistrationState},
}


def next_state(state: RegistrationState, event: RegistrationInput) -> RegistrationState:
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise LocalProtocolError(event.value, state.value, "registration UAC") from None
