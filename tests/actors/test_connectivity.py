"""The connectivity monitor on a virtual clock, reading a kernel-like tree the test controls."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
import trio

from kazoo_actors.actors.connectivity import (
    ConnectivityMonitor,
    PathChanged,
    PathStatus,
    Resumed,
)
from kazoo_actors.network_path import IPAddress, NetworkPathReader, PathState

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


def route_line(iface: str, network: str) -> str:
    net = ipaddress.IPv4Network(network)

    def host_order(address: ipaddress.IPv4Address) -> str:
        return f"{int.from_bytes(address.packed, sys.byteorder):08X}"

    dest, mask = host_order(net.network_address), host_order(net.netmask)
    return f"{iface}\t{dest}\t00000000\t0001\t0\t0\t0\t{mask}\t0\t0\t0\n"


class Host:
    """A fake /proc/net and /sys/class/net the test edits, with a counting reader."""

    def __init__(self, root: Path) -> None:
        self.proc = root / "proc"
        self.sys = root / "sys"
        self.proc.mkdir()
        self.sys.mkdir()
        (self.proc / "fib_trie").write_text("Local:\n")
        self.set_routes([("eth0", "0.0.0.0/0")])
        self.set_interface("lo", up=True)
        self.set_interface("eth0", up=True)
        self.reads = 0
        host = self

        class CountingReader(NetworkPathReader):
            def read(self, addresses: Iterable[IPAddress]) -> dict[IPAddress, PathState]:
                host.reads += 1
                return super().read(addresses)

        self.reader = CountingReader(proc_net=self.proc, sys_class_net=self.sys)

    def set_routes(self, routes: list[tuple[str, str]]) -> None:
        text = HEADER + "".join(route_line(i, n) for i, n in routes)
        (self.proc / "route").write_text(text)

    def set_interface(self, name: str, *, up: bool) -> None:
        d = self.sys / name
        d.mkdir(exist_ok=True)
        (d / "flags").write_text("0x1003\n" if up else "0x1002\n")
        (d / "operstate").write_text("up\n" if up else "down\n")


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


class WallClock:
    def __init__(self) -> None:
        self.jumped = 0.0

    def __call__(self) -> float:
        return 1_700_000_000.0 + trio.current_time() + self.jumped


async def test_one_poll_serves_every_watch_of_an_address(
    host: Host, autojump_clock: trio.abc.Clock
) -> None:
    monitor = ConnectivityMonitor(period=1.0, reader=host.reader)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        watches = [monitor.watch("198.51.100.7") for _ in range(100)]
        other = monitor.watch("127.0.0.1")
        assert all(w.status is PathStatus.ONLINE for w in watches)
        await trio.sleep(10.5)
        reads_before = host.reads
        host.set_interface("eth0", up=False)
        await trio.sleep(1)
        events = [w.receive_nowait() for w in watches]
        assert events[0] == PathChanged(
            address="198.51.100.7",
            status=PathStatus.OFFLINE,
            interface="eth0",
            reason="via eth0, down",
        )
        assert all(e == events[0] for e in events)
        with pytest.raises(trio.WouldBlock):
            other.receive_nowait()
        # One read per poll for all 101 watches (plus one per new address at watch time).
        assert host.reads - reads_before == 1
        host.set_routes([])
        host.set_interface("eth0", up=True)
        await trio.sleep(1)
        with pytest.raises(trio.WouldBlock):
            watches[0].receive_nowait()  # still offline: now there is no route at all
        assert watches[0].status is PathStatus.OFFLINE
        host.set_routes([("eth0", "198.51.100.0/24")])
        with trio.fail_after(2):
            back = await watches[0].receive()
        assert isinstance(back, PathChanged) and back.status is PathStatus.ONLINE
        stats = monitor.statistics()
        assert (stats.addresses, stats.watches) == (2, 101)
        assert stats.polls >= 12
        nursery.cancel_scope.cancel()


async def test_a_disabled_watch_hears_nothing_then_catches_up(
    host: Host, autojump_clock: trio.abc.Clock
) -> None:
    monitor = ConnectivityMonitor(reader=host.reader)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        watch = monitor.watch("127.0.0.1")
        watch.set_enabled(False)
        host.set_interface("lo", up=False)
        await trio.sleep(3)
        with pytest.raises(trio.WouldBlock):
            watch.receive_nowait()
        assert watch.status is PathStatus.OFFLINE
        watch.set_enabled(True)
        event = watch.receive_nowait()
        assert isinstance(event, PathChanged) and event.status is PathStatus.OFFLINE
        # Off and on again with no change in between: nothing to tell.
        watch.set_enabled(False)
        watch.set_enabled(True)
        with pytest.raises(trio.WouldBlock):
            watch.receive_nowait()
        nursery.cancel_scope.cancel()


async def test_resume_after_sleep(host: Host, autojump_clock: trio.abc.Clock) -> None:
    wall = WallClock()
    monitor = ConnectivityMonitor(reader=host.reader, wall_clock=wall, resume_threshold=5.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        watch = monitor.watch("127.0.0.1")
        await trio.sleep(2.5)
        wall.jumped += 3.0  # an NTP step, not a suspend
        await trio.sleep(2)
        wall.jumped += 600.0  # the laptop lid was closed for ten minutes
        with trio.fail_after(2):
            event = await watch.receive()
        assert isinstance(event, Resumed)
        assert event.slept == pytest.approx(600.0)
        assert monitor.statistics().resumes == 1
        nursery.cancel_scope.cancel()


async def test_monitor_turned_off_stops_polling(host: Host, autojump_clock: trio.abc.Clock) -> None:
    monitor = ConnectivityMonitor(reader=host.reader)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        await trio.sleep(5)
        assert monitor.statistics().polls == 0  # nobody watches: nothing to read
        watch = monitor.watch("127.0.0.1")
        await trio.sleep(2.5)
        assert monitor.statistics().polls == 3
        monitor.set_enabled(False)
        await trio.sleep(10)
        assert monitor.statistics().polls == 3
        host.set_interface("lo", up=False)
        monitor.set_enabled(True)
        with trio.fail_after(1):
            event = await watch.receive()
        assert isinstance(event, PathChanged) and event.status is PathStatus.OFFLINE
        nursery.cancel_scope.cancel()


async def test_closing_a_watch_ends_its_iteration(
    host: Host, autojump_clock: trio.abc.Clock
) -> None:
    monitor = ConnectivityMonitor(reader=host.reader)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        watch = monitor.watch("127.0.0.1")
        seen: list[object] = []

        async def consume() -> None:
            async for event in watch:
                seen.append(event)

        nursery.start_soon(consume)
        host.set_interface("lo", up=False)
        await trio.sleep(1.5)
        watch.close()
        await trio.sleep(1)
        assert len(seen) == 1
        assert monitor.statistics().addresses == 0
        with pytest.raises(trio.EndOfChannel):
            await watch.receive()
        nursery.cancel_scope.cancel()


async def test_a_lagging_consumer_keeps_the_latest_events(
    host: Host, autojump_clock: trio.abc.Clock
) -> None:
    monitor = ConnectivityMonitor(reader=host.reader, max_pending=4)
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        watch = monitor.watch("127.0.0.1")
        await trio.sleep(0.5)
        for i in range(7):
            host.set_interface("lo", up=i % 2 == 1)
            await trio.sleep(1)
        statuses = []
        while True:
            try:
                event = watch.receive_nowait()
            except trio.WouldBlock:
                break
            assert isinstance(event, PathChanged)
            statuses.append(event.status)
        assert watch.dropped == 3
        assert statuses[-1] is PathStatus.OFFLINE is watch.status
        assert len(statuses) == 4
        nursery.cancel_scope.cancel()


def test_bad_settings_and_addresses() -> None:
    with pytest.raises(ValueError, match="period"):
        ConnectivityMonitor(period=0)
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        ConnectivityMonitor().watch("sip.example.com")
