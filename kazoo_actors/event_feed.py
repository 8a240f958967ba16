"""An account's typed events for ``Account.events()``: bounded, created on first use.

Callbacks get every event as it happens; the feed keeps the last ``limit``
events for a program that iterates ``events()``. It is bounded so that a program
that never reads cannot grow the engine; when it overflows the oldest events
go and ``dropped`` counts them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from kazoo_actors.events import AccountEvent


class EventFeed:
    __slots__ = ("_closed", "_items", "_limit", "_waiter", "dropped")

    def __init__(self, limit: int = 256) -> None:
        # A list, not a deque: an empty deque costs ~600 bytes, and most feeds hold
        # one or two events forever (programs that only use callbacks never read).
        self._items: list[AccountEvent] | None = None
        self._limit = limit
        self._waiter: trio.Event | None = None
        self._closed = False
        self.dropped = 0

    def publish(self, event: AccountEvent) -> None:
        if self._items is None:
            self._items = []
        if len(self._items) >= self._limit:
            del self._items[0]
            self.dropped += 1
        self._items.append(event)
        self._wake()

    def close(self) -> None:
        """No more events will come; iterators end after what is queued."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None:
            self._waiter.set()
            self._waiter = None

    async def __aiter__(self) -> AsyncIterator[AccountEvent]:
        while True:
            if self._items:
                yield self._items.pop(0)
                continue
            if self._closed:
                return
            if self._waiter is None:
                self._waiter = trio.Event()
            await self._waiter.wait()
