"""What a call actor's inbox carries, and the account settings it is built with.

Everything reaches a call task through one bounded channel: SIP from the
account's router (``SipIn``, ``SipFailed``, ``ConnectionLost``), the program's
commands (``kazoo_actors.call``), digits from its media (``MediaDigit``),
progress of a call placed for a transfer we were asked to make
(``TargetProgress``), and session steps taken outside the task (``Deferred``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import attrs
from sipmessage import Request, Response, Via

from kazoo_actors.call import Command
from kazoo_actors.params import RegisterParams

if TYPE_CHECKING:
    from kazoo_actors.actors.call_router import CallDefaults


@attrs.frozen(kw_only=True)
class CallSettings:
    account: str
    params: RegisterParams
    contact: str
    local_via: Via
    defaults: CallDefaults
    rng: random.Random


@attrs.frozen(kw_only=True)
class SipIn:
    message: Request | Response
    request: Request | None
    """For a response: the request it answers."""


@attrs.frozen(kw_only=True)
class SipFailed:
    request: Request
    code: int
    reason: str


@attrs.frozen
class ConnectionLost:
    pass


@attrs.frozen(kw_only=True)
class TargetProgress:
    """How the call we placed for an incoming REFER goes (reported back by NOTIFY)."""

    code: int
    reason: str


@attrs.frozen(kw_only=True)
class Deferred:
    """Outputs of a session step taken outside the call's task (``call_fast_path``)
    that the task must perform itself: timers, and events for the program."""

    outputs: list[Any]


@attrs.frozen(kw_only=True)
class MediaDigit:
    digit: str
    duration_ms: int


Inbound = SipIn | SipFailed | ConnectionLost | TargetProgress | MediaDigit | Deferred | Command
