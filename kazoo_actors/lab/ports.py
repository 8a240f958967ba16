"""Free loopback ports for a lab server."""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"
_MAX_TRIES = 200


def pick_free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 for both TCP and UDP.

    SIP listens on UDP and TCP with one number, so a port counts only when both bind.
    Every probe socket stays open until all ports are chosen, so the ports differ; another
    process may still take one before the server binds it, which the caller must survive.
    """
    ports: list[int] = []
    with ExitStack() as held:
        for _ in range(_MAX_TRIES):
            if len(ports) == count:
                return ports
            tcp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            tcp.bind((LOOPBACK, 0))
            port = int(tcp.getsockname()[1])
            udp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            try:
                udp.bind((LOOPBACK, port))
            except OSError:
                continue
            ports.append(port)
        if len(ports) == count:
            return ports
    raise OSError(f"could not find {count} free TCP+UDP ports on {LOOPBACK}")
