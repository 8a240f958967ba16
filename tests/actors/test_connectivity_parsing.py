"""Parsing the kernel's route tables and interface state, on fixture text."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest

from kazoo_actors.network_path import (
    NetworkPathReader,
    PathStatus,
    Route,
    RouteTableError,
    interface_is_up,
    parse_fib_trie_local,
    parse_ipv6_route_table,
    parse_route_table,
    route_interface,
)

ip = ipaddress.ip_address

# Captured on a Debian 12 host (x86-64, little-endian), plus a reject route.
ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wg0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0
wg1\t0000000A\t00000000\t0001\t0\t0\t50\t000000FF\t0\t0\t0
eth0\t00000A0A\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0
"""

IPV6_ROUTE = """\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
"""  # noqa: E501

FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
Local:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
"""

little_endian = pytest.mark.skipif(
    sys.byteorder != "little", reason="the fixture was captured on a little-endian host"
)


@little_endian
def test_ipv4_route_table() -> None:
    routes = parse_route_table(ROUTE)
    assert routes[:2] == (
        Route(network=ipaddress.ip_network("0.0.0.0/0"), interface="eth0", metric=100),
        Route(network=ipaddress.ip_network("192.0.2.0/24"), interface="eth0", metric=0),
    )
    # The reject route (flags 0x0201) is not a way out.
    assert all(r.network != ipaddress.ip_network("10.10.0.0/16") for r in routes)
    assert len(routes) == 4


def test_ipv6_route_table_skips_reject_routes() -> None:
    routes = parse_ipv6_route_table(IPV6_ROUTE)
    assert [(str(r.network), r.interface, r.metric) for r in routes] == [
        ("fd00::/64", "eth0", 256),
        ("::/0", "eth0", 1024),
        ("::1/128", "lo", 0),
    ]


def test_fib_trie_local_networks() -> None:
    assert [str(n) for n in parse_fib_trie_local(FIB_TRIE)] == [
        "127.0.0.0/8",
        "127.0.0.1/32",
        "192.0.2.2/32",
    ]


@little_endian
@pytest.mark.parametrize(
    ("address", "interface"),
    [
        ("127.0.0.1", "lo"),
        ("127.8.9.10", "lo"),
        ("192.0.2.2", "lo"),  # our own address: delivered locally
        ("192.0.2.77", "eth0"),  # the connected /24 beats the default route
        ("10.0.0.5", "wg0"),  # equal prefixes: the lower metric wins
        ("10.10.1.1", "wg0"),  # the reject /16 is ignored, the /8 applies
        ("::1", "lo"),
        ("fd00::9", "eth0"),
        ("2001:db8::1", "eth0"),
    ],
)
def test_route_interface(address: str, interface: str) -> None:
    routes = parse_route_table(ROUTE) + parse_ipv6_route_table(IPV6_ROUTE)
    assert route_interface(ip(address), routes, parse_fib_trie_local(FIB_TRIE)) == interface


def test_no_route_means_no_interface() -> None:
    assert route_interface(ip("198.51.100.1"), ()) is None
    assert route_interface(ip("2001:db8::1"), parse_ipv6_route_table(IPV6_ROUTE)[2:]) is None


@pytest.mark.parametrize(
    ("flags", "operstate", "up"),
    [
        ("0x9\n", "unknown\n", True),  # lo, up
        ("0x8\n", "unknown\n", False),  # lo, down
        ("0x1003\n", "up\n", True),
        ("0x1003\n", "lowerlayerdown\n", False),  # veth whose peer is down
        ("0x1002\n", "down\n", False),
        ("0x1003\n", "dormant\n", False),
    ],
)
def test_interface_state(flags: str, operstate: str, up: bool) -> None:
    assert interface_is_up(flags, operstate) is up


@pytest.mark.parametrize(
    "text",
    [
        "header\neth0\tZZZZ\t0\t0001\t0\t0\t0\t00000000\n",
        "header\neth0\t00000000\t0\n",
        "header\neth0\t00000001\t0\t0001\t0\t0\t0\t00000080\n",  # host bits outside the mask
    ],
)
def test_malformed_route_lines_raise_the_table_error(text: str) -> None:
    with pytest.raises(RouteTableError):
        parse_route_table(text)


def test_malformed_ipv6_and_flags_raise_the_table_error() -> None:
    with pytest.raises(RouteTableError):
        parse_ipv6_route_table("0001 80 lo\n")
    with pytest.raises(RouteTableError):
        parse_ipv6_route_table(IPV6_ROUTE.replace(" 80 ", " zz ", 1).replace(" 40 ", " zz ", 1))
    with pytest.raises(RouteTableError):
        interface_is_up("up", "up")


def write_tree(root: Path, interfaces: dict[str, tuple[str, str]]) -> NetworkPathReader:
    proc = root / "proc"
    proc.mkdir(exist_ok=True)
    (proc / "route").write_text(ROUTE)
    (proc / "ipv6_route").write_text(IPV6_ROUTE)
    (proc / "fib_trie").write_text(FIB_TRIE)
    for name, (flags, operstate) in interfaces.items():
        d = root / "sys" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "flags").write_text(flags)
        (d / "operstate").write_text(operstate)
    return NetworkPathReader(proc_net=proc, sys_class_net=root / "sys")


@little_endian
def test_reader_looks_at_the_interface_not_only_the_route(tmp_path: Path) -> None:
    reader = write_tree(tmp_path, {"lo": ("0x8", "unknown"), "eth0": ("0x1003", "up")})
    states = reader.read([ip("127.0.0.1"), ip("192.0.2.77"), ip("10.0.0.5")])
    lo = states[ip("127.0.0.1")]
    assert (lo.status, lo.interface, lo.reason) == (PathStatus.OFFLINE, "lo", "via lo, down")
    assert states[ip("192.0.2.77")].status is PathStatus.ONLINE
    # wg0 has a route but no entry in /sys: the interface is gone.
    assert states[ip("10.0.0.5")].status is PathStatus.OFFLINE


def test_reader_without_ipv6(tmp_path: Path) -> None:
    reader = write_tree(tmp_path, {"lo": ("0x9", "unknown")})
    (tmp_path / "proc" / "ipv6_route").unlink()
    state = reader.read([ip("::1")])[ip("::1")]
    assert (state.status, state.reason) == (PathStatus.OFFLINE, "no route to ::1")
