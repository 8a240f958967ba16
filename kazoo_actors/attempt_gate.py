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
    def __init__(self, limit: int | trio.CapacityLimiter) -> None:
        self.limiter = (
            limit if isinstance(limit, trio.CapacityLimiter) else trio.CapacityLimiter(limit)
        )
        self._in_flight = 0
        self._peak = 0
        self._entered = 0

    def slot(self, owner: object) -> _Slot:
        """``async with gate.slot(owner):`` runs one attempt in a slot.

        Entering is not a checkpoint when a slot is free: the attempt inside starts
        with a socket wait anyway, and a reconnect storm enters thousands of times a
        second (a scheduling round each was measurable).
        """
        return _Slot(self, owner)

    def _taken(self) -> None:
        self._in_flight += 1
        self._entered += 1
        self._peak = max(self._peak, self._in_flight)

    def _given_back(self, owner: object) -> None:
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


class _Slot:
    __slots__ = ("_gate", "_owner")

    def __init__(self, gate: AttemptGate, owner: object) -> None:
        self._gate = gate
        self._owner = owner

    async def __aenter__(self) -> None:
        limiter = self._gate.limiter
        # Look before trying: in a storm most owners find the gate full, and each
        # WouldBlock raised and caught here came on top of the one the wait raises itself.
        if limiter.available_tokens > 0:
            try:
                limiter.acquire_on_behalf_of_nowait(self._owner)
            except trio.WouldBlock:
                await limiter.acquire_on_behalf_of(self._owner)
        else:
            await limiter.acquire_on_behalf_of(self._owner)
        self._gate._taken()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._gate._given_back(self._owner)
