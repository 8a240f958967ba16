"""Helpers for engine tests: an event recorder and RegisterParams for a lab Kamailio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from kazoo_actors.events import AccountEvent
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.params import RegisterParams


class Recorder:
    """Collects what an account reports through its callbacks, and waits for it."""

    def __init__(self) -> None:
        self.events: list[AccountEvent] = []
        self._changed = trio.Event()

    def __call__(self, event: AccountEvent) -> None:
        self.events.append(event)
        self._changed.set()
        self._changed = trio.Event()

    @property
    def keys(self) -> list[str]:
        return [e.key for e in self.events]

    def count(self, key: str) -> int:
        return self.keys.count(key)

    async def wait_for(
        self, key: str, *, count: int = 1, timeout: float = 10.0, where: Callable[..., bool] = bool
    ) -> AccountEvent:
        with trio.fail_after(timeout):
            while True:
                found = [e for e in self.events if e.key == key and where(e)]
                if len(found) >= count:
                    return found[count - 1]
                await self._changed.wait()


def lab_params(
    server: KamailioServer, user: str, recorder: Recorder | None = None, **changes: Any
) -> RegisterParams:
    callbacks: dict[str, Any] = {}
    if recorder is not None:
        callbacks = {"on_connected": recorder, "on_error": recorder, "on_notified": recorder}
    settings: dict[str, Any] = {
        "ws_url": server.ws_url,
        "realm": server.realm,
        "private_identity": user,
        "public_identity": user,
        "password": server.password,
        "reconnect_delay": 2000,
        "monitor_connectivity": False,
        **callbacks,
    }
    settings.update(changes)
    return RegisterParams(**settings)


def closed_port_url() -> str:
    """A ws:// URL on 127.0.0.1 where nothing listens (the port was just released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/"
