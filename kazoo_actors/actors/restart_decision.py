"""The supervisor's restart decision as a pure function (no clock, no tasks).

``decide(...)`` is given how one child exited, the restart types of the running
children in start order, the strategy, the intensity limits, the times of earlier
restarts and ``now``; it returns one of:

- ``Leave()`` — the child is not restarted and is forgotten;
- ``Restart(start=ids, stop=ids, history=times)`` — stop ``stop`` (other running
  children, to be stopped in reverse start order), then start ``start`` in order; the
  new restart ``history`` replaces the old one;
- ``GiveUp(restarts=n, period=s)`` — the restart would exceed the intensity: the
  supervisor stops all children and fails.

The rules are OTP's: ``permanent`` restarts on any exit, ``transient`` only on an error
(a cancellation is a shutdown, as OTP's ``shutdown`` reason is normal for transient
children), ``temporary`` never.  Intensity: a restart is recorded at ``now``, restarts
older than ``period`` are dropped, and more than ``intensity`` remaining means give up.
Under ``one_for_all`` temporary siblings are stopped but not started again.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs

from kazoo_actors.actors.child_spec import RestartType, Strategy


class ExitKind(enum.StrEnum):
    NORMAL = "normal"
    ERROR = "error"
    CANCELLED = "cancelled"


@attrs.frozen
class Leave:
    pass


@attrs.frozen(kw_only=True)
class Restart:
    start: tuple[str, ...]
    stop: tuple[str, ...]
    history: tuple[float, ...]


@attrs.frozen(kw_only=True)
class GiveUp:
    restarts: int
    period: float


Decision = Leave | Restart | GiveUp


def should_restart(restart: RestartType, exit_kind: ExitKind) -> bool:
    if restart is RestartType.PERMANENT:
        return True
    if restart is RestartType.TRANSIENT:
        return exit_kind is ExitKind.ERROR
    return False


def record_restart(history: Sequence[float], now: float, *, period: float) -> tuple[float, ...]:
    """Restart times still inside the intensity window after one more at ``now``."""
    return (*(t for t in history if now - t < period), now)


def decide(
    *,
    child_id: str,
    exit_kind: ExitKind,
    children: Sequence[tuple[str, RestartType]],
    strategy: Strategy,
    intensity: int,
    period: float,
    history: Sequence[float],
    now: float,
) -> Decision:
    restart_types = dict(children)
    if child_id not in restart_types:
        raise ValueError(f"child {child_id!r} is not among the running children")
    if not should_restart(restart_types[child_id], exit_kind):
        return Leave()
    new_history = record_restart(history, now, period=period)
    if len(new_history) > intensity:
        return GiveUp(restarts=len(new_history), period=period)
    if strategy is Strategy.ONE_FOR_ONE:
        return Restart(start=(child_id,), stop=(), history=new_history)
    siblings = tuple(cid for cid, _ in children if cid != child_id)
    again = tuple(
        cid for cid, kind in children if cid == child_id or kind is not RestartType.TEMPORARY
    )
    return Restart(start=again, stop=siblings, history=new_history)
