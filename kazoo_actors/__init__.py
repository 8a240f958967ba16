"""kazoo-actors: the kazoo.js softphone contract as a Trio actor engine.

The public face::

    async with open_engine() as engine:
        account = await engine.register(RegisterParams(...))
        async for event in account.events():
            ...

Names are loaded on first use, so that ``import kazoo_actors`` (the CLI's
``--version``, the lab) does not pay for trio, aiortc and av.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "open_engine": "kazoo_actors.engine",
    "Engine": "kazoo_actors.engine",
    "KazooError": "kazoo_actors.errors",
    "MediaStackUnavailable": "kazoo_actors.errors",
    "Account": "kazoo_actors.account",
    "Call": "kazoo_actors.call",
    "CallError": "kazoo_actors.call",
    "NoCurrentCall": "kazoo_actors.call",
    "RegisterParams": "kazoo_actors.params",
    "Error": "kazoo_actors.events",
    "Notification": "kazoo_actors.events",
}

__all__ = [
    "Account",
    "Call",
    "CallError",
    "Engine",
    "Error",
    "KazooError",
    "MediaStackUnavailable",
    "NoCurrentCall",
    "Notification",
    "RegisterParams",
    "__version__",
    "open_engine",
]

if TYPE_CHECKING:
    from kazoo_actors.account import Account
    from kazoo_actors.call import Call, CallError, NoCurrentCall
    from kazoo_actors.engine import Engine, open_engine
    from kazoo_actors.errors import KazooError, MediaStackUnavailable
    from kazoo_actors.events import Error, Notification
    from kazoo_actors.params import RegisterParams


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kazoo_actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
