"""What a supervisor needs to know about a child, as frozen data (Erlang/OTP ``child_spec``).

``ChildSpec(id=..., start=..., restart=..., shutdown=...)``:

- ``start`` is an async function called as ``await start(task_status=...)``; it calls
  ``task_status.started(handle)`` once it is ready and then runs until it is done.  The
  handle is what ``Supervisor.start_child`` returns (an account object, a channel...).
  Bind arguments with ``functools.partial``.
- ``restart``: ``permanent`` children are always restarted, ``transient`` ones only
  when they fail (an exception), ``temporary`` ones never (as in OTP).
- ``shutdown``: seconds of grace a child gets for its cleanup once it is told to stop.
  Trio cannot kill a task, it can only cancel it; a child that must do cleanup under
  cancellation (unregister, close a socket) opens ``supervisor.cleanup_scope()``, a
  shielded scope whose deadline is this grace, so the supervisor's bound holds.

``SupervisorSpec(strategy=..., intensity=..., period=...)``: ``one_for_one`` restarts
only the child that exited, ``one_for_all`` stops every other child and restarts them
all in start order.  More than ``intensity`` restarts within ``period`` seconds make
the supervisor give up (OTP defaults: 1 restart in 5 s).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any

import attrs


class RestartType(enum.StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


class Strategy(enum.StrEnum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"


def _non_negative(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _restart_type(value: RestartType | str) -> RestartType:
    # The enum's own call costs more than the check, and the engine passes members.
    return value if isinstance(value, RestartType) else RestartType(value)


@attrs.frozen(kw_only=True)
class ChildSpec:
    id: str
    start: Callable[..., Awaitable[object]] = attrs.field(eq=False)
    restart: RestartType = attrs.field(default=RestartType.PERMANENT, converter=_restart_type)
    shutdown: float = attrs.field(default=5.0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class SupervisorSpec:
    strategy: Strategy = attrs.field(default=Strategy.ONE_FOR_ONE, converter=Strategy)
    intensity: int = attrs.field(default=1, validator=_non_negative)
    period: float = attrs.field(default=5.0, validator=_positive)
