"""The engine's keep-alive wheel, with stand-in transports on Trio's virtual clock."""

from __future__ import annotations

from typing import Any, cast

import trio
import trio.testing

from kazoo_actors.actors.keepalive import KeepaliveScheduler
from kazoo_actors.actors.transport import KeepaliveStep, SipTransport


class FakeTransport:
    """Pings succeed unless told otherwise; the pong comes back after ``rtt`` (or never)."""

    def __init__(self, *, interval: float, timeout: float, rtt: float | None, direct: bool) -> None:
        self.keepalive_interval = interval
        self.pong_timeout = timeout
        self.rtt = rtt
        self.direct = direct
        self.last_traffic = trio.current_time()
        self.ping_sent_at: float | None = None
        self.pings: list[float] = []
        self.owner: Any = None
        self.closed = False

    def keepalive_due(self) -> float:
        self._deliver_pong()
        if self.ping_sent_at is not None:
            return self.ping_sent_at + self.pong_timeout
        return self.last_traffic + self.keepalive_interval

    def keepalive_step(self, now: float) -> KeepaliveStep:
        self._deliver_pong()
        if self.closed:
            return KeepaliveStep.CLOSED
        if self.ping_sent_at is not None:
            if now >= self.ping_sent_at + self.pong_timeout:
                return KeepaliveStep.DEAD
            return KeepaliveStep.WAITING
        if now < self.last_traffic + self.keepalive_interval:
            return KeepaliveStep.WAITING
        if not self.direct:
            return KeepaliveStep.OWNER_MUST_PING
        self.ping_sent_at = now
        self.pings.append(now)
        return KeepaliveStep.PINGED

    def _deliver_pong(self) -> None:
        now = trio.current_time()
        sent, rtt = self.ping_sent_at, self.rtt
        if sent is not None and rtt is not None and now >= sent + rtt:
            self.last_traffic = sent + rtt
            self.ping_sent_at = None


class Owner:
    def __init__(self) -> None:
        self.failed_at: float | None = None
        self.ping_requests = 0

    def keepalive_failed(self) -> None:
        self.failed_at = trio.current_time()

    def keepalive_ping_needed(self) -> None:
        self.ping_requests += 1


async def test_pings_every_interval_and_reports_a_missing_pong(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        scheduler: KeepaliveScheduler = await nursery.start(KeepaliveScheduler().run)
        start = trio.current_time()
        alive = FakeTransport(interval=25, timeout=10, rtt=0.05, direct=True)
        silent = FakeTransport(interval=25, timeout=10, rtt=None, direct=True)
        owners = Owner(), Owner()
        scheduler.add(cast(SipTransport, alive), owners[0])
        scheduler.add(cast(SipTransport, silent), owners[1])
        await trio.sleep(100)
        # One ping per 25 s of silence, each rounded up to the wheel's 1 s slots.
        gaps = [b - a for a, b in zip([start, *alive.pings], alive.pings, strict=False)]
        assert alive.pings == [start + 25, start + 51, start + 77]  # pong + 25 s, next slot
        assert all(25 <= gap <= 26.1 for gap in gaps)
        assert owners[0].failed_at is None
        # The silent server: pinged at 25 s, dead at the 10 s pong deadline.
        assert silent.pings and owners[1].failed_at is not None
        assert 35 <= owners[1].failed_at - start <= 37
        stats = scheduler.statistics()
        assert (stats.deaths, stats.connections) == (1, 1)
        nursery.cancel_scope.cancel()


async def test_tls_pings_are_handed_to_the_owner_and_closed_ones_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        scheduler: KeepaliveScheduler = await nursery.start(KeepaliveScheduler().run)
        tls = FakeTransport(interval=5, timeout=3, rtt=0.1, direct=False)
        owner = Owner()
        scheduler.add(cast(SipTransport, tls), owner)
        await trio.sleep(7.5)
        assert owner.ping_requests >= 2  # asked again each slot until the owner pings
        tls.closed = True
        await trio.sleep(10)
        assert scheduler.statistics().connections == 0
        assert owner.failed_at is None
        nursery.cancel_scope.cancel()
