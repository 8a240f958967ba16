"""How an account's mailbox takes a command while others wait: redundant ones are merged.

Why: ``reconnect()``, ``start_auto_reconnect()``, ``stop_auto_reconnect()`` and
``monitor_connectivity()`` are sync setters, so they must never be refused; the
engine's connectivity news must never be lost; and a program calling a setter in
a loop before the actor runs must not grow the mailbox without end. So a new
command is merged into the pending ones: the actor, handling the merged list in
order (``AccountActor._command``), ends in the same state, with the same flags,
counters and events, as it would handling every command posted, one by one, from
whatever state it is in when it reads them. Keeping only the latest command of
each kind would not: ``stop``, ``start`` while waiting to reconnect starts an
attempt at once where ``start`` alone keeps waiting, and a ``Reconnect`` moved
behind an offline ``ConnectivityChanged`` would end the session as offline (no
new attempt) rather than as a reconnect. The rules, each resting on what the
handlers read and write (tests/engine/test_command_merging.py checks them all
against the handlers):

- ``Reconnect`` is dropped when one is pending: after one, the actor is idle,
  logged out, or ending its session, and nothing in the same batch takes it out
  of those states, where another ``Reconnect`` does nothing.
- ``CallWork`` is dropped when one is pending: it only wakes the actor.
- ``SetMonitorConnectivity`` reads nothing and only ``ConnectivityChanged`` and
  ``ResumedFromSleep`` read what it writes, so it commutes with every other
  command: the ones after the last of those two collapse into the latest value,
  preceded by an ``off`` when one of them was off (off forgets an offline status).
- ``SetAutoReconnect`` commutes with ``SetMonitorConnectivity``,
  ``ResumedFromSleep`` and ``CallWork``. In a run of them between ``Reconnect``,
  ``ConnectivityChanged`` or ``Logout``, off takes a waiting actor down and on
  starts an attempt from down (when resumable): the run's effect depends only on
  whether it holds an off, an on, an off before an on, and on its last value, so
  it collapses to at most three (off, on, off). Right after a ``Reconnect`` or a
  ``Logout`` the actor is in a state neither acts on: the latest value alone.
- ``ConnectivityChanged`` is dropped only when the latest pending one has the
  same value and no ``SetMonitorConnectivity`` follows it (it would find the
  status already set); ``ResumedFromSleep`` likewise when one is pending with no
  ``SetMonitorConnectivity`` after it (the first one ended the session or found
  nothing to end, and only turning monitoring on changes that).
- ``Logout`` is always kept: each carries the event its caller waits on.

The program's setters alone thus leave at most seven commands pending (one
``Reconnect``, four ``SetAutoReconnect``, two ``SetMonitorConnectivity``) besides
the logouts awaited; the engine adds at most one per change of the network path.
The scans run only when the mailbox already holds commands, over a few items.
"""

from __future__ import annotations

from kazoo_actors.actors.account_commands import (
    Command,
    ConnectivityChanged,
    Logout,
    Reconnect,
    ResumedFromSleep,
    SetAutoReconnect,
    SetMonitorConnectivity,
)
from kazoo_actors.actors.call_router import CallWork

_AUTO_ON = SetAutoReconnect(True)
_AUTO_OFF = SetAutoReconnect(False)
_MONITOR_OFF = SetMonitorConnectivity(False)


def merge_command(pending: list[Command], command: Command) -> None:
    """Add ``command`` to the non-empty ``pending`` list, merging what it makes redundant."""
    if isinstance(command, SetAutoReconnect):
        _merge_auto_reconnect(pending, command)
    elif isinstance(command, SetMonitorConnectivity):
        _merge_monitor(pending, command)
    elif isinstance(command, Logout) or not _repeats_pending(pending, command):
        pending.append(command)


def _repeats_pending(pending: list[Command], command: Command) -> bool:
    """Whether a pending command makes ``command`` (Reconnect, CallWork,
    ConnectivityChanged or ResumedFromSleep) do nothing: the latest of its kind,
    equal to it, with no monitoring setting after it for the two connectivity kinds."""
    kind = type(command)
    anywhere = kind is Reconnect or kind is CallWork
    for queued in reversed(pending):
        if type(queued) is kind:
            return queued == command
        if not anywhere and type(queued) is SetMonitorConnectivity:
            return False
    return False


def _merge_auto_reconnect(pending: list[Command], command: SetAutoReconnect) -> None:
    run: list[int] = []  # positions of the run's commands, the last first
    values: list[bool] = []  # their values, the last first
    after_reset = False
    for position in range(len(pending) - 1, -1, -1):
        queued = pending[position]
        if isinstance(queued, SetAutoReconnect):
            run.append(position)
            values.append(queued.enabled)
        elif isinstance(queued, (Reconnect, Logout)):
            after_reset = True
            break
        elif isinstance(queued, ConnectivityChanged):
            break
    if not run:
        pending.append(command)
        return
    for position in run:  # the last first, so the earlier positions stay valid
        del pending[position]
    values.reverse()
    values.append(command.enabled)
    if after_reset or values.count(command.enabled) == len(values):
        pending.append(command)
    elif command.enabled:
        pending += (_AUTO_OFF, command)  # an off then an on: down, then an attempt
    elif values.index(False) < len(values) - 1 - values[::-1].index(True):
        pending += (_AUTO_OFF, _AUTO_ON, command)  # an off before an on, ending off
    else:
        pending += (_AUTO_ON, command)  # every on before every off


def _merge_monitor(pending: list[Command], command: SetMonitorConnectivity) -> None:
    turned_off = False
    for position in range(len(pending) - 1, -1, -1):
        queued = pending[position]
        if isinstance(queued, SetMonitorConnectivity):
            turned_off = turned_off or not queued.enabled
            del pending[position]
        elif isinstance(queued, (ConnectivityChanged, ResumedFromSleep)):
            break
    if turned_off and command.enabled:
        pending.append(_MONITOR_OFF)
    pending.append(command)
