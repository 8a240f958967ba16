"""Probes that tell when a freshly started lab Kamailio can serve clients.

An accepted TCP connection is not enough: the kernel queues it on the listening socket
before Kamailio has forked the processes that read from it. A completed WebSocket upgrade
proves the TCP workers run (they are forked last), and an answered OPTIONS the UDP ones.
"""

from __future__ import annotations

import base64
import os
import socket

from kazoo_actors.lab.notify_injection import InjectionTimeout, build_request, send_request
from kazoo_actors.lab.ports import LOOPBACK

_MAX_HEAD = 4096


def websocket_upgrades(port: int, timeout: float = 0.2) -> bool:
    """Whether an HTTP upgrade to WebSocket with subprotocol sip gets 101 on ``port``."""
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET / HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: sip\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as connection:
            connection.sendall(handshake)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD:
                chunk = connection.recv(_MAX_HEAD)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return False
    return head.startswith(b"HTTP/1.1 101")


def answers_options(sip_port: int, realm: str, timeout: float = 0.2) -> bool:
    """Whether an OPTIONS to the server itself over UDP gets 200."""
    probe = build_request("OPTIONS", "lab-probe", realm, request_uri=f"sip:{LOOPBACK}:{sip_port}")
    try:
        return send_request((LOOPBACK, sip_port), probe, timeout=timeout).code == 200
    except InjectionTimeout:
        return False
