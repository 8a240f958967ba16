"""A bound on connection attempts in flight across all accounts, with measurements.

``AttemptGate(50)`` (or ``AttemptGate(existing_capacity_limiter)``) is shared by every
account of an engine; an attempt runs inside ``async with gate.slot(owner):``.  The gate
counts attempts, how many are in flight now and the peak, so a test or a benchmark can
show that reconnect storms stay bounded.

Slots are borrowed on behalf of ``owner`` (any hashable object, e.g. the account actor),
not of the current task, so one slot may be released from a different task than the one
that took it.  An owner holds at most one slot: do not nest ``slot`` for the same owner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
    def __init__(self, limit: int | trio.CapacityLimiter) -> None:
        self.limiter = (
            limit if isinstance(limit, trio.CapacityLimiter) else trio.CapacityLimiter(limit)
        )
        self._in_flight = 0
        self._peak = 0
        self._entered = 0

    @asynccontextmanager
    async def slot(self, owner: object) -> AsyncIterator[None]:
        await self.limiter.acquire_on_behalf_of(owner)
        self._in_flight += 1
        self._entered += 1
        self._peak = max(self._peak, self._in_flight)
        try:
            yield
        finally:
            self._in_flight -= 1
            self.limiter.release_on_behalf_of(owner)

    def statistics(self) -> AttemptGateStatistics:
        return AttemptGateStatistics(
            limit=self.limiter.total_tokens,
            in_flight=self._in_flight,
            peak_in_flight=self._peak,
            waiting=self.limiter.statistics().tasks_waiting,
            entered=self._entered,
        )
