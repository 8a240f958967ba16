"""An account's typed events for ``Account.events()``: bounded, created on first use.

Callbacks get every event as it happens; the feed keeps the last ``limit``
events for a program that iterates ``events()``. It is bounded so that a program
that never reads cannot grow the engine; when it overflows the oldest events
go and ``dropped`` counts them. Until someone asks for ``events()`` it keeps
only the last ``unwatched_limit``: a program that uses callbacks alone would
otherwise hold 256 events per account after a long outage (a reconnect
notification every 2 s fills that in under nine minutes, for every account).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from kazoo_actors.events import AccountEvent


class EventFeed:
    __slots__ = (
        "_closed",
        "_items",
        "_limit",
        "_unwatched_limit",
        "_waiter",
        "_watched",
        "dropped",
    )

    def __init__(self, limit: int = 256, unwatched_limit: int = 16) -> None:
        # A list, not a deque: an empty deque costs ~600 bytes, and most feeds hold
        # one or two events forever (programs that only use callbacks never read).
        self._items: list[AccountEvent] | None = None
        self._limit = limit
        self._unwatched_limit = min(limit, unwatched_limit)
        self._watched = False
        self._waiter: trio.Event | None = None
        self._closed = False
        self.dropped = 0

    def publish(self, event: AccountEvent) -> None:
        if self._items is None:
            self._items = []
        limit = self._limit if self._watched else self._unwatched_limit
        while len(self._items) >= limit:
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

    def watch(self) -> AsyncIterator[AccountEvent]:
        """The events from now on and the recent ones not yet read; keeps ``limit`` from now."""
        self._watched = True
        return self.__aiter__()

    async def __aiter__(self) -> AsyncIterator[AccountEvent]:
        self._watched = True
        while True:
            if self._items:
                yield self._items.pop(0)
                continue
            if self._closed:
                return
            if self._waiter is None:
                self._waiter = trio.Event()
            await self._waiter.wait()
