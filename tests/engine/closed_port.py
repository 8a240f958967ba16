"""A server address where nothing listens: connecting to it fails at once on loopback."""

from __future__ import annotations

import socket


def closed_port_url() -> str:
    """A ws:// URL on 127.0.0.1 whose port was just released, so nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/"
