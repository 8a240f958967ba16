"""A bounded command inbox that interrupts its owner's single wait.

An account actor waits on its socket and on its timers in one task; a command
from the program (logout, reconnect, connectivity news) must wake that wait.
A memory channel would need a second task to listen on it (about 3.7 KB per
account with the channel), so commands go into a short list here and ``put``
cancels the owner's current receive scope. Only the receive sits inside that
scope, and a cancelled receive loses no data, so nothing is lost by waking.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class Mailbox(Generic[T]):
    __slots__ = ("_items", "_limit", "_scope")

    def __init__(self, limit: int = 32) -> None:
        self._items: list[T] | None = None
        self._limit = limit
        self._scope: trio.CancelScope | None = None

    def __len__(self) -> int:
        return 0 if self._items is None else len(self._items)

    def put_nowait(self, item: T) -> None:
        """Queue ``item`` and wake the owner; ``trio.WouldBlock`` when full."""
        if self._items is None:
            self._items = []
        elif len(self._items) >= self._limit:
            raise trio.WouldBlock
        self._items.append(item)
        if self._scope is not None:
            self._scope.cancel()

    def wake(self) -> None:
        """Interrupt the owner's current wait without a command (it checks its own flags)."""
        if self._scope is not None:
            self._scope.cancel()

    def take_all(self) -> list[T]:
        items, self._items = self._items, None
        return items or []

    def interruptible(self, deadline: float) -> trio.CancelScope:
        """A scope ending at ``deadline`` or at the next ``put``, whichever comes first.

        Enter it at once (``with mailbox.interruptible(d):``) and only around a
        cancel-safe wait. A plain scope rather than a context-manager generator:
        this runs on every wake-up of every account. Cancelling a scope that
        was already left is a no-op, so the last one need not be cleared.
        """
        scope = trio.CancelScope(deadline=deadline)
        if self._items:
            scope.cancel()
        self._scope = scope
        return scope
