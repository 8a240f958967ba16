"""A bound on connection attempts in flight across all accounts, with measurements.

``AttemptGate(50)`` is shared by every account of an engine; an attempt runs inside
``async with gate.slot():``, or between ``enter_nowait``/``enter`` and ``leave``.  The
gate counts attempts, how many are in flight now and the peak, so a test or a benchmark
can show that reconnect storms stay bounded.

Waiters get their turn first come, first served.  A slot belongs to the attempt, not to
a task: it may be given back from a different task than the one that took it.

Why not a ``trio.CapacityLimiter``: registering 10,000 accounts parks nearly all of
them here at once, and the limiter charged each of those a ``WouldBlock`` raised and
caught, a borrower set, a pending-borrower map and a parking lot, plus a coroutine per
release.  Here a waiter is one entry in an ordered map and a freed slot goes straight
to the oldest waiter.
"""

from __future__ import annotations

from collections import OrderedDict
from types import TracebackType

import attrs
import trio


@attrs.frozen(kw_only=True)
class AttemptGateStatistics:
    limit: float
    in_flight: int
    peak_in_flight: int
    waiting: int
    entered: int


class AttemptGate:
    __slots__ = ("_entered", "_in_flight", "_limit", "_peak", "_waiting")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"an attempt gate needs at least one slot, got {limit!r}")
        self._limit = limit
        self._in_flight = 0
        self._peak = 0
        self._entered = 0
        # Ordered, and O(1) to take the oldest out of or to drop a cancelled waiter from.
        self._waiting: OrderedDict[trio.lowlevel.Task, None] = OrderedDict()

    def slot(self) -> _Slot:
        """``async with gate.slot():`` runs one attempt in a slot.

        Entering is not a checkpoint when a slot is free: the attempt inside starts
        with a socket wait anyway, and a reconnect storm enters thousands of times a
        second (a scheduling round each was measurable).
        """
        return _Slot(self)

    def enter_nowait(self) -> bool:
        """Take a free slot at once; False (nothing taken) when the gate is full: then
        ``await enter()``. Give the slot back with ``leave``.

        The account actor's way in, without ``slot()``'s context manager and its two
        coroutines per attempt.
        """
        # A free slot means nobody waits: leave hands a slot to a waiter, never frees it.
        if self._in_flight >= self._limit:
            return False
        self._in_flight += 1
        self._entered += 1
        if self._in_flight > self._peak:
            self._peak = self._in_flight
        return True

    async def enter(self) -> None:
        """Take a slot, waiting first come first served while the gate is full."""
        if self.enter_nowait():
            return
        # A freed slot is handed to us by leave.
        task = trio.lowlevel.current_task()
        waiting = self._waiting
        waiting[task] = None

        def abort(_: object) -> trio.lowlevel.Abort:
            del waiting[task]
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def leave(self) -> None:
        """Give a slot back: to the oldest waiter, else to the free ones."""
        if self._waiting:
            task, _ = self._waiting.popitem(last=False)
            self._entered += 1  # the slot passes on: in flight stays the same
            trio.lowlevel.reschedule(task)
        else:
            self._in_flight -= 1

    def statistics(self) -> AttemptGateStatistics:
        return AttemptGateStatistics(
            limit=self._limit,
            in_flight=self._in_flight,
            peak_in_flight=self._peak,
            waiting=len(self._waiting),
            entered=self._entered,
        )


class _Slot:
    __slots__ = ("_gate",)

    def __init__(self, gate: AttemptGate) -> None:
        self._gate = gate

    async def __aenter__(self) -> None:
        await self._gate.enter()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._gate.leave()
