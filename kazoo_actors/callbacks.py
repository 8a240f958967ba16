"""Calling the program's ``on_*`` callbacks without letting them hurt the engine.

A callback may be sync or async. One that raises is logged with the account
and contained: it never kills the account or the engine (DESIGN.md, Actors).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("kazoo_actors.callbacks")


async def invoke_callback(
    callback: Callable[..., Any] | None, *args: Any, account: str = "", name: str = ""
) -> bool:
    """Call ``callback(*args)``; True when it returned normally (or there was none)."""
    if callback is None:
        return True
    try:
        # An async callable returns its coroutine: awaiting what comes back serves both
        # kinds, without inspecting the callable on every event.
        result = callback(*args)
        if hasattr(result, "__await__"):
            await result
    except Exception:
        log.exception("callback %s of account %s raised; contained", name or callback, account)
        return False
    return True
