"""The commands an account actor's mailbox carries (from ``Account`` and from the engine)."""

from __future__ import annotations

import attrs
import trio

from kazoo_actors.actors.call_router import CallWork


@attrs.frozen
class Logout:
    done: trio.Event


@attrs.frozen
class Reconnect:
    pass


@attrs.frozen
class SetAutoReconnect:
    enabled: bool


@attrs.frozen
class SetMonitorConnectivity:
    enabled: bool


@attrs.frozen
class ConnectivityChanged:
    online: bool


@attrs.frozen
class ResumedFromSleep:
    """The machine was suspended: connections made before are probably dead."""


Command = (
    Logout
    | Reconnect
    | SetAutoReconnect
    | SetMonitorConnectivity
    | ConnectivityChanged
    | ResumedFromSleep
    | CallWork
)
