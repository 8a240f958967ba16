"""The lab Kamailio of the registration benchmarks: its settings and the CPU it used."""

from __future__ import annotations

import sys
from typing import Any

import psutil

from bench.kazoo_peer import PeerConfig, PeerUnavailable, run_register
from kazoo_actors.lab.config import KamailioSettings, shared_memory_for
from kazoo_actors.lab.kamailio import KamailioServer


def bench_settings(accounts: int, **changes: Any) -> KamailioSettings:
    """A lab for peers that each register ``accounts`` accounts, one peer after another:
    a previous peer's closed connections are freed lazily while the next one connects."""
    return KamailioSettings(shared_memory_mb=shared_memory_for(2 * accounts), **changes)


def kamailio_cpu(server: KamailioServer) -> float:
    """CPU seconds of the server's processes so far (main and children)."""
    if server.pid is None:
        return 0.0
    main = psutil.Process(server.pid)
    return sum(sum(p.cpu_times()[:2]) for p in [main, *main.children(recursive=True)])


def run_jssip_register(
    server: KamailioServer, *, accounts: int, concurrency: int, hold_s: float
) -> dict[str, Any] | None:
    """JsSIP on Node registers ``accounts`` with ``server`` (then holds and unregisters);
    its report, or None with the reason on stderr when Node or the peer is missing."""
    config = PeerConfig(
        ws_url=server.ws_url,
        realm=server.realm,
        password=server.password,
        count=accounts,
        concurrency=concurrency,
    )
    try:
        return dict(run_register(config, hold_s=hold_s).raw)
    except PeerUnavailable as exc:
        print(f"JsSIP peer unavailable: {exc}", file=sys.stderr)
        return None
