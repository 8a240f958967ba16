"""The connectivity monitor: one per engine, watching the network path to each server.

Usage::

    monitor = ConnectivityMonitor(period=1.0)
    await nursery.start(monitor.run)                # task_status.started(monitor)
    watch = monitor.watch("127.0.0.1")              # one per account; same address = shared poll
    watch.status                                    # PathStatus.ONLINE / OFFLINE, right away
    async for event in watch:                       # PathChanged(status=...) / Resumed(slept=...)
        ...
    watch.set_enabled(False)                        # the account's monitor_connectivity(False)
    watch.close()
    monitor.set_enabled(False)                      # stop polling altogether

Every ``period`` seconds the monitor reads the routing tables and interface states once
(``network_path.NetworkPathReader``) for all watched server addresses, however many
accounts watch them, and tells each enabled watch of an address when its status changed:
``PathChanged(status=online|offline)`` — the path is down when there is no route or the
route's interface is down.  It also compares the wall clock with the monotonic clock: when
the wall clock jumped ahead by more than ``resume_threshold`` seconds between two polls the
machine was suspended, and every enabled watch gets ``Resumed(slept=seconds)`` (its
connections are probably dead).  What to do — ``connectivity_notification``, starting
auto-reconnect when the path comes back — is the account's business.

Addresses are IP addresses (the caller resolves host names).  A watch keeps at most
``max_pending`` undelivered events; older ones are dropped (and counted) when a consumer
falls that far behind, since only the latest status matters.  The reads are small
in-memory kernel files, done inline: cheaper than a thread hop at one poll per second.
"""

from __future__ import annotations

import collections
import ipaddress
import time
from collections.abc import Callable

import attrs
import trio

from kazoo_actors.network_path import IPAddress, NetworkPathReader, PathState, PathStatus

__all__ = [
    "ConnectivityEvent",
    "ConnectivityMonitor",
    "MonitorStatistics",
    "PathChanged",
    "PathStatus",
    "PathWatch",
    "Resumed",
]


@attrs.frozen(kw_only=True)
class PathChanged:
    address: str
    status: PathStatus
    interface: str | None
    reason: str


@attrs.frozen(kw_only=True)
class Resumed:
    slept: float


ConnectivityEvent = PathChanged | Resumed


@attrs.frozen(kw_only=True)
class MonitorStatistics:
    enabled: bool
    addresses: int
    watches: int
    polls: int
    resumes: int
    last_poll_seconds: float


class _Target:
    __slots__ = ("state", "watches")

    def __init__(self, state: PathState) -> None:
        self.state = state
        self.watches: set[PathWatch] = set()


class PathWatch:
    """One subscriber's view of the path to one address (an async iterator of events)."""

    __slots__ = (
        "_delivered",
        "_enabled",
        "_max_pending",
        "_monitor",
        "_pending",
        "_waiter",
        "address",
        "closed",
        "dropped",
    )

    def __init__(self, monitor: ConnectivityMonitor, address: IPAddress, max_pending: int) -> None:
        self._monitor = monitor
        self.address = address
        self._max_pending = max_pending
        self._enabled = True
        self._delivered = monitor._targets[address].state.status
        # Created on first use: most watches never hold an event, and there are thousands.
        self._pending: collections.deque[ConnectivityEvent] | None = None
        self._waiter: trio.Event | None = None
        self.closed = False
        self.dropped = 0

    @property
    def status(self) -> PathStatus:
        """The latest known status (also while this watch is disabled)."""
        target = self._monitor._targets.get(self.address)
        return target.state.status if target is not None else self._delivered

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        """Turn delivery off or on; turned on, a status that changed meanwhile is delivered."""
        self._enabled = enabled
        target = self._monitor._targets.get(self.address)
        if enabled and target is not None:
            self._offer_state(target.state)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._monitor._forget(self)
        self._wake()

    def receive_nowait(self) -> ConnectivityEvent:
        if self._pending:
            return self._pending.popleft()
        if self.closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> ConnectivityEvent:
        while True:
            try:
                event = self.receive_nowait()
            except trio.WouldBlock:
                self._waiter = trio.Event()
                await self._waiter.wait()
                continue
            await trio.lowlevel.checkpoint()
            return event

    def __aiter__(self) -> PathWatch:
        return self

    async def __anext__(self) -> ConnectivityEvent:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def _offer_state(self, state: PathState) -> None:
        if not self._enabled or state.status is self._delivered:
            return
        self._delivered = state.status
        self._push(
            PathChanged(
                address=str(self.address),
                status=state.status,
                interface=state.interface,
                reason=state.reason,
            )
        )

    def _push(self, event: ConnectivityEvent) -> None:
        if self.closed or not self._enabled:
            return
        if self._pending is None:
            self._pending = collections.deque()
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(event)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None:
            self._waiter.set()
            self._waiter = None


class ConnectivityMonitor:
    def __init__(
        self,
        *,
        period: float = 1.0,
        resume_threshold: float = 5.0,
        reader: NetworkPathReader | None = None,
        wall_clock: Callable[[], float] = time.time,
        max_pending: int = 16,
    ) -> None:
        if period <= 0 or resume_threshold <= 0 or max_pending < 1:
            raise ValueError("period and resume_threshold must be > 0, max_pending >= 1")
        self.period = period
        self.resume_threshold = resume_threshold
        self._reader = reader if reader is not None else NetworkPathReader()
        self._wall_clock = wall_clock
        self._max_pending = max_pending
        self._targets: dict[IPAddress, _Target] = {}
        self._enabled = True
        self._changed = trio.Event()
        self._clock_offset: float | None = None
        self._watches = 0
        self._polls = 0
        self._resumes = 0
        self._last_poll_seconds = 0.0

    def watch(self, address: str | IPAddress) -> PathWatch:
        """Subscribe to the path to ``address`` (an IP address); reads its state at once."""
        ip = ipaddress.ip_address(address)
        if ip not in self._targets:
            self._targets[ip] = _Target(self._reader.read([ip])[ip])
        watch = PathWatch(self, ip, self._max_pending)
        self._targets[ip].watches.add(watch)
        self._watches += 1
        self._changed.set()
        return watch

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        self._changed.set()

    def statistics(self) -> MonitorStatistics:
        return MonitorStatistics(
            enabled=self._enabled,
            addresses=len(self._targets),
            watches=self._watches,
            polls=self._polls,
            resumes=self._resumes,
            last_poll_seconds=self._last_poll_seconds,
        )

    async def run(
        self, *, task_status: trio.TaskStatus[ConnectivityMonitor] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started(self)
        while True:
            if not self._enabled or not self._targets:
                # Idle time is not sleep: start the clock comparison afresh afterwards.
                self._clock_offset = None
                self._changed = trio.Event()
                await self._changed.wait()
                continue
            self.poll()
            await trio.sleep(self.period)

    def poll(self) -> None:
        """One pass: detect a resume from sleep, then read and deliver path changes."""
        started = time.perf_counter()
        self._polls += 1
        offset = self._wall_clock() - trio.current_time()
        if self._clock_offset is not None and offset - self._clock_offset > self.resume_threshold:
            self._resumes += 1
            event = Resumed(slept=offset - self._clock_offset)
            for target in self._targets.values():
                for watch in target.watches:
                    watch._push(event)
        self._clock_offset = offset
        states = self._reader.read(self._targets)
        for address, state in states.items():
            target = self._targets[address]
            if state.status is not target.state.status:
                for watch in target.watches:
                    watch._offer_state(state)
            target.state = state
        self._last_poll_seconds = time.perf_counter() - started

    def _forget(self, watch: PathWatch) -> None:
        target = self._targets.get(watch.address)
        if target is None or watch not in target.watches:
            return
        target.watches.discard(watch)
        self._watches -= 1
        if not target.watches:
            del self._targets[watch.address]
