"""A command inbox that wakes its owner's single wait, and never refuses a command.

An account actor waits on its socket and on its timers in one task; a command
from the program (logout, reconnect, connectivity news) must wake that wait.
A memory channel would need a second task to listen on it (about 3.7 KB per
account with the channel), so commands go into a short list here and ``put``
wakes the owner: when it is parked (``park``, waiting for its socket through
the ``ReadinessPoller``), by rescheduling it; when it waits inside an
``interruptible`` scope (a TLS stream, a connect through a name, the pause
between attempts), by cancelling that scope. Only a cancel-safe wait sits in
such a scope, so nothing is lost either way.

There is no limit, and ``put_nowait`` never raises: a sync setter of the program
must not fail because the actor has not run yet, and a connectivity change
dropped for a full inbox was lost for good (the account never reported going
offline). The inbox stays small because its owner merges each new command into
the pending ones (``merge``; for an account, ``command_merging.merge_command``
drops the commands another pending one makes redundant). An inbox without
``merge`` (tests, bare waits) keeps every item.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import trio

from kazoo_actors.actors.readiness_poller import ReadinessPoller

T = TypeVar("T")


class Mailbox(Generic[T]):
    __slots__ = ("_items", "_merge", "_scope", "_task", "queued_deadline", "registered_deadline")

    def __init__(self, merge: Callable[[list[T], T], None] | None = None) -> None:
        self._items: list[T] | None = None
        self._merge = merge
        """Adds an item to a non-empty list of pending ones (None: appends)."""
        self._scope: trio.CancelScope | None = None
        self._task: trio.lowlevel.Task | None = None
        self.registered_deadline = math.inf
        """The deadline the poller holds for us (``math.inf``: none)."""
        self.queued_deadline = math.inf
        """The poller's bookkeeping (``Owner.queued_deadline``)."""

    def __len__(self) -> int:
        return 0 if self._items is None else len(self._items)

    def put_nowait(self, item: T) -> None:
        """Queue ``item`` (merged into the pending ones by ``merge``) and wake the owner."""
        items = self._items
        if items is None:
            # The common case, registering thousands of accounts: one list, no merge.
            self._items = [item]
        elif self._merge is None:
            items.append(item)
        else:
            self._merge(items, item)
        self.wake()

    def wake(self) -> None:
        """Interrupt the owner's current wait without a command (it checks its own flags)."""
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task)
        elif self._scope is not None:
            self._scope.cancel()

    def deadline_passed(self, deadline: float) -> None:
        """The poller's call at a deadline we registered: wake unless we registered another."""
        if deadline == self.registered_deadline:
            self.registered_deadline = math.inf
            task = self._task
            if task is not None:
                self._task = None
                trio.lowlevel.reschedule(task)

    def take_all(self) -> list[T]:
        items, self._items = self._items, None
        return items or []

    def park(self, deadline: float, poller: ReadinessPoller) -> Awaitable[object]:
        """Sleep until ``wake`` (a command, the owner's socket via ``poller``) or ``deadline``.

        Await it at once: ``await mailbox.park(deadline, poller)``. Outside any
        cancel scope: waking reschedules the task, so nothing is cancelled and
        no scope is built per wait. A cancellation from outside (the engine
        stopping) still ends the wait as usual. A plain function handing back
        Trio's wait, so that resuming the actor passes one frame fewer.
        """
        self._scope = None
        if self._items:
            return trio.lowlevel.checkpoint()
        if deadline != self.registered_deadline:
            self.registered_deadline = deadline
            if deadline != math.inf:
                poller.wake_at(deadline, self)
        self._task = trio.lowlevel.current_task()
        return trio.lowlevel.wait_task_rescheduled(self._abort)

    def _abort(self, _: object) -> trio.lowlevel.Abort:
        self._task = None
        return trio.lowlevel.Abort.SUCCEEDED

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
