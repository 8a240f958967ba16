"""Timer names of the roles that share one account task.

An account keeps one table of deadlines for all its roles; each role's timers
carry the role's prefix there, so that a fired timer goes back to its role.
"""

from __future__ import annotations

from protocols.sip.actions import CancelTimer, StartTimer


def prefixed(action: StartTimer | CancelTimer, prefix: str) -> StartTimer | CancelTimer:
    if isinstance(action, StartTimer):
        return StartTimer(name=prefix + action.name, seconds=action.seconds)
    return CancelTimer(name=prefix + action.name)
