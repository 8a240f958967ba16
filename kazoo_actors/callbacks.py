"""Calling the program's ``on_*`` callbacks without letting them hurt the engine.

A callback may be sync or async. One that raises is logged with the account
and contained: it never kills the account or the engine (DESIGN.md, Actors).

``invoke_callback`` calls and awaits in one step. The account actor handles a
message synchronously and awaits only afterwards, so it splits the two:
``call_callback`` now, and for an async callback the ``PendingCallback`` it
returns is finished (``await pending.finish()``) once the handling is done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("kazoo_actors.callbacks")


class PendingCallback:
    """The awaitable an async callback returned, still to be awaited."""

    __slots__ = ("account", "awaitable", "name")

    def __init__(self, awaitable: Awaitable[Any], *, account: str, name: str) -> None:
        self.awaitable = awaitable
        self.account = account
        self.name = name

    async def finish(self) -> bool:
        """Await the callback; True when it returned normally."""
        try:
            await self.awaitable
        except Exception:
            _contained(self.name, self.account)
            return False
        return True


def call_callback(
    callback: Callable[..., Any] | None, *args: Any, account: str = "", name: str = ""
) -> PendingCallback | bool:
    """Call ``callback(*args)`` without awaiting it.

    True when it returned normally (or there was none), False when it raised, a
    ``PendingCallback`` when it returned an awaitable that still has to run.
    """
    if callback is None:
        return True
    try:
        # An async callable returns its coroutine: awaiting what comes back serves both
        # kinds, without inspecting the callable on every event.
        result = callback(*args)
    except Exception:
        _contained(name or str(callback), account)
        return False
    if hasattr(result, "__await__"):
        return PendingCallback(result, account=account, name=name or str(callback))
    return True


async def invoke_callback(
    callback: Callable[..., Any] | None, *args: Any, account: str = "", name: str = ""
) -> bool:
    """Call ``callback(*args)`` and await it if async; True when it returned normally."""
    called = call_callback(callback, *args, account=account, name=name)
    if isinstance(called, PendingCallback):
        return await called.finish()
    return called


def _contained(name: str, account: str) -> None:
    log.exception("callback %s of account %s raised; contained", name, account)
