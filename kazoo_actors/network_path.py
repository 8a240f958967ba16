"""Is there a usable network path to an address?  Read from the kernel's /proc and /sys.

The path to an address is usable when a route leads to it and the interface that route
goes through is up.  Both halves matter: when a link goes down the kernel drops its
routes, but when ``lo`` goes down the local route (``local 127.0.0.1 dev lo``) stays while
traffic stalls — only the interface state tells.

- IPv4: addresses in a local network of ``/proc/net/fib_trie`` (127.0.0.0/8 and the host's
  own addresses, kernel type LOCAL) go through ``lo``; anything else takes the longest
  matching prefix of ``/proc/net/route`` (the main table), lowest metric first.
- IPv6: ``/proc/net/ipv6_route`` holds every table, local routes included.
- Interface state: ``/sys/class/net/IFACE/flags`` must have IFF_UP and ``operstate`` must
  be ``up`` or ``unknown`` (``lo`` and tunnels report ``unknown`` while working).

``NetworkPathReader().read([ip_address("127.0.0.1")])`` returns a ``PathState`` per
address.  The parsers are pure functions of the files' text, tested on fixtures.

A caveat the kernel imposes: /proc/net follows the reading process's network namespace,
but /sys/class/net shows the namespace of whoever mounted /sys.  ``ip netns exec``
remounts /sys for its namespace; a process moved with ``unshare -n`` alone must mount
its own sysfs (``unshare -n -m`` then ``mount -t sysfs sysfs /sys``) or it reads the
interfaces of the parent namespace.
"""

from __future__ import annotations

import enum
import ipaddress
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

RTF_UP = 0x0001
RTF_REJECT = 0x0200
IFF_UP = 0x1
WORKING_OPERSTATES = frozenset({"up", "unknown"})
LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")


class RouteTableError(ValueError):
    """A kernel table did not have the expected format."""


class PathStatus(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


@attrs.frozen(kw_only=True)
class Route:
    network: IPNetwork
    interface: str
    metric: int


@attrs.frozen(kw_only=True)
class PathState:
    status: PathStatus
    interface: str | None
    reason: str


def _hex(field: str, what: str, line: str) -> int:
    try:
        return int(field, 16)
    except ValueError:
        raise RouteTableError(f"bad {what} {field!r} in route line {line!r}") from None


def parse_route_table(text: str) -> tuple[Route, ...]:
    """Usable routes of ``/proc/net/route`` (IPv4 main table)."""
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 8:
            raise RouteTableError(f"short route line {line!r}")
        iface, destination, flags, metric, mask = (
            fields[0],
            fields[1],
            fields[3],
            fields[6],
            fields[7],
        )
        if not _hex(flags, "flags", line) & RTF_UP or _hex(flags, "flags", line) & RTF_REJECT:
            continue
        # The kernel prints each __be32 as a host-order integer.
        address = _hex(destination, "destination", line).to_bytes(4, sys.byteorder)
        netmask = _hex(mask, "mask", line).to_bytes(4, sys.byteorder)
        try:
            network = ipaddress.IPv4Network(
                (ipaddress.IPv4Address(address), str(ipaddress.IPv4Address(netmask)))
            )
        except ValueError as exc:
            raise RouteTableError(f"bad network in route line {line!r}: {exc}") from None
        routes.append(Route(network=network, interface=iface, metric=int(metric)))
    return tuple(routes)


def parse_ipv6_route_table(text: str) -> tuple[Route, ...]:
    """Usable routes of ``/proc/net/ipv6_route`` (all tables, local ones included)."""
    routes = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 10 or len(fields[0]) != 32:
            raise RouteTableError(f"bad ipv6 route line {line!r}")
        flags = _hex(fields[8], "flags", line)
        if not flags & RTF_UP or flags & RTF_REJECT:
            continue
        prefix_len = _hex(fields[1], "prefix length", line)
        try:
            address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            network = ipaddress.IPv6Network((address, prefix_len))
        except ValueError as exc:
            raise RouteTableError(f"bad network in ipv6 route line {line!r}: {exc}") from None
        routes.append(
            Route(network=network, interface=fields[9], metric=_hex(fields[5], "metric", line))
        )
    return tuple(routes)


def parse_fib_trie_local(text: str) -> tuple[ipaddress.IPv4Network, ...]:
    """Networks of kernel type LOCAL in ``/proc/net/fib_trie`` (delivered through ``lo``).

    Leaves look like ``|-- 127.0.0.1`` followed by lines such as ``/32 host LOCAL``.
    """
    local = set()
    leaf: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            leaf = stripped[3:].strip()
        elif stripped.startswith("/") and leaf is not None:
            parts = stripped.split()
            if parts[-1] != "LOCAL":
                continue
            try:
                local.add(ipaddress.IPv4Network(f"{leaf}{parts[0]}", strict=False))
            except ValueError as exc:
                raise RouteTableError(f"bad fib_trie entry {leaf}{parts[0]!r}: {exc}") from None
    return tuple(sorted(local))


def interface_is_up(flags_text: str, operstate_text: str) -> bool:
    try:
        flags = int(flags_text.strip(), 16)
    except ValueError:
        raise RouteTableError(f"bad interface flags {flags_text!r}") from None
    return bool(flags & IFF_UP) and operstate_text.strip() in WORKING_OPERSTATES


def route_interface(
    address: IPAddress,
    routes: Sequence[Route],
    local_networks: Sequence[ipaddress.IPv4Network] = (),
) -> str | None:
    """The interface traffic to ``address`` leaves through, or None without a route."""
    if isinstance(address, ipaddress.IPv4Address) and (
        address in LOOPBACK_V4 or any(address in net for net in local_networks)
    ):
        return "lo"
    best: Route | None = None
    for route in routes:
        if route.network.version != address.version or address not in route.network:
            continue
        if (
            best is None
            or route.network.prefixlen > best.network.prefixlen
            or (route.network.prefixlen == best.network.prefixlen and route.metric < best.metric)
        ):
            best = route
    return best.interface if best is not None else None


class NetworkPathReader:
    """Reads the current path state to a set of addresses (one pass over the tables)."""

    def __init__(
        self, proc_net: Path = Path("/proc/net"), sys_class_net: Path = Path("/sys/class/net")
    ) -> None:
        self.proc_net = proc_net
        self.sys_class_net = sys_class_net

    def read(self, addresses: Iterable[IPAddress]) -> dict[IPAddress, PathState]:
        wanted = list(addresses)
        routes: list[Route] = []
        local: tuple[ipaddress.IPv4Network, ...] = ()
        v4 = [a for a in wanted if isinstance(a, ipaddress.IPv4Address)]
        if v4:
            routes.extend(parse_route_table(self._text(self.proc_net / "route")))
            if any(a not in LOOPBACK_V4 for a in v4):
                local = parse_fib_trie_local(self._text(self.proc_net / "fib_trie"))
        if len(v4) < len(wanted):
            routes.extend(parse_ipv6_route_table(self._text(self.proc_net / "ipv6_route")))
        states: dict[IPAddress, PathState] = {}
        interfaces: dict[str, bool] = {}
        for address in wanted:
            iface = route_interface(address, routes, local)
            if iface is None:
                states[address] = PathState(
                    status=PathStatus.OFFLINE, interface=None, reason=f"no route to {address}"
                )
                continue
            if iface not in interfaces:
                interfaces[iface] = self.interface_up(iface)
            up = interfaces[iface]
            states[address] = PathState(
                status=PathStatus.ONLINE if up else PathStatus.OFFLINE,
                interface=iface,
                reason=f"via {iface}, " + ("up" if up else "down"),
            )
        return states

    def interface_up(self, name: str) -> bool:
        directory = self.sys_class_net / name
        try:
            flags = (directory / "flags").read_text()
            operstate = (directory / "operstate").read_text()
        except FileNotFoundError:
            return False  # the interface is gone
        return interface_is_up(flags, operstate)

    @staticmethod
    def _text(path: Path) -> str:
        try:
            return path.read_text()
        except FileNotFoundError:
            return ""  # no IPv6 (or no fib_trie) in this kernel: no routes of that kind
