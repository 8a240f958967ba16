"""One edge-triggered epoll for the accounts' sockets, watched by one task per Trio run.

Why not ``trio.lowlevel.wait_readable`` in each account's wait: Trio registers
a socket EPOLLONESHOT, so every wait re-arms it (an ``epoll_ctl``) and a wait
cut short by a command disarms it (another), and each wait sits in a
``CancelScope`` for the account's timer deadline and for its mailbox to cut
it short (a cancellation is an exception through the whole stack). Together
that was about a tenth of a registration's CPU. Here a socket is added once,
edge-triggered, to an epoll of our own; one system task waits on that epoll
(through Trio, so it is one more file descriptor to Trio) and on the earliest
deadline of the parked owners, and wakes an owner by rescheduling it: when
its socket has news (``Watch.ready``), when its deadline passes, or, through
the owner's ``Mailbox``, when a command arrives. Nothing is cancelled.

Edge-triggered means an event comes only when something new arrives, so a
``Watch`` stays ready until its owner's read came back short (the socket was
empty then; whatever arrives later raises a new edge).
"""

from __future__ import annotations

import heapq
import itertools
import math
import select
from typing import Protocol

import trio


class Owner(Protocol):
    """Whom the poller wakes: a socket's reader, or one with a deadline (a ``Mailbox``)."""

    registered_deadline: float
    """The deadline this owner last registered (``math.inf`` when none is pending)."""

    queued_deadline: float
    """The poller's: when this owner's earliest entry in its heap falls due (``math.inf``:
    it has none). Start it at ``math.inf``."""

    def wake(self) -> None: ...

    def deadline_passed(self, deadline: float) -> None: ...


class Watch:
    """One socket in the poller: whether it has unread news, and whom to wake for it."""

    __slots__ = ("fd", "owner", "poller", "ready")

    def __init__(self, fd: int, owner: Owner, poller: ReadinessPoller) -> None:
        self.fd = fd
        self.owner = owner
        self.poller = poller
        self.ready = False

    def forget(self) -> None:
        """Stop watching; call it before the socket is closed (its number may come back)."""
        self.poller.forget(self)


_POLLER: trio.lowlevel.RunVar[ReadinessPoller | None] = trio.lowlevel.RunVar("readiness_poller")

_READABLE = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET if hasattr(select, "epoll") else 0
_COMPACT_ABOVE = 1024


class ReadinessPoller:
    __slots__ = ("_compact_above", "_deadlines", "_epoll", "_order", "_scope", "_watches")

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._watches: dict[int, Watch] = {}
        # (deadline, order, owner); an entry is stale once its owner registered another.
        self._deadlines: list[tuple[float, int, Owner]] = []
        self._order = itertools.count()
        self._compact_above = _COMPACT_ABOVE
        self._scope: trio.CancelScope | None = None

    @staticmethod
    def current() -> ReadinessPoller | None:
        """This run's poller, started on first use; None where there is no epoll."""
        poller = _POLLER.get(None)
        if poller is None and hasattr(select, "epoll"):
            poller = ReadinessPoller()
            _POLLER.set(poller)
            trio.lowlevel.spawn_system_task(poller._run, name="kazoo_actors.readiness_poller")
        return poller

    def watch(self, fd: int, owner: Owner, *, writable: bool = False) -> Watch:
        """Watch socket ``fd`` (its writability too while a connect is in progress)."""
        watch = Watch(fd, owner, self)
        flags = _READABLE | select.EPOLLOUT if writable else _READABLE
        try:
            self._epoll.register(fd, flags)
        except FileExistsError:
            self._epoll.modify(fd, flags)
        self._watches[fd] = watch
        return watch

    def forget(self, watch: Watch) -> None:
        # Closing the socket takes it out of the epoll; only our map needs clearing.
        if self._watches.get(watch.fd) is watch:
            del self._watches[watch.fd]

    def wake_at(self, deadline: float, owner: Owner) -> None:
        """Wake ``owner`` at ``deadline`` unless it registered another one by then."""
        if owner.queued_deadline <= deadline:
            # An entry of the owner's falls due no later: then ``_wake_due`` queues the
            # owner's deadline of that moment. An account's deadlines mostly move later
            # (connect, transaction, refresh), so that is one heap entry for the three.
            return
        owner.queued_deadline = deadline
        heapq.heappush(self._deadlines, (deadline, next(self._order), owner))
        scope = self._scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline
        if len(self._deadlines) > self._compact_above:
            self._compact()

    def _compact(self) -> None:
        # An entry matters while it is its owner's earliest (an earlier one replaced it).
        live = [entry for entry in self._deadlines if entry[2].queued_deadline == entry[0]]
        heapq.heapify(live)
        self._deadlines = live
        self._compact_above = max(_COMPACT_ABOVE, 2 * len(live))

    async def _run(self) -> None:
        epoll = self._epoll
        try:
            while True:
                deadline = self._deadlines[0][0] if self._deadlines else math.inf
                with trio.CancelScope(deadline=deadline) as scope:
                    self._scope = scope
                    while True:
                        await trio.lowlevel.wait_readable(epoll.fileno())
                        self._dispatch(epoll.poll(0))
                self._scope = None
                self._wake_due(trio.current_time())
        finally:
            self._scope = None
            trio.lowlevel.notify_closing(epoll.fileno())
            epoll.close()

    def _dispatch(self, events: list[tuple[int, int]]) -> None:
        watches = self._watches
        for fd, _ in events:
            watch = watches.get(fd)
            if watch is not None:
                watch.ready = True
                watch.owner.wake()

    def _wake_due(self, now: float) -> None:
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            deadline, _, owner = heapq.heappop(deadlines)
            if deadline != owner.queued_deadline:
                continue  # replaced by an earlier entry, which came first
            owner.queued_deadline = math.inf
            registered = owner.registered_deadline
            if registered == deadline:
                owner.deadline_passed(deadline)
            elif registered != math.inf:
                self.wake_at(registered, owner)  # it moved later meanwhile
