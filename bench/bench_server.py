"""The lab Kamailio of the registration benchmarks: its settings and the CPU it used."""

from __future__ import annotations

import sys
import time
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


WEBSOCKET_REMOVE_DELAY_S = 5.0 + 1.0
"""How long Kamailio's websocket module keeps a closed connection: it destroys it
rm_delay_interval (5 s, the module's default, which the lab config keeps) after the
close, on a timer run every timer_interval (1 s). Until then a peer's 10,000 closed
connections stay in the module's connection table and every lookup made for the next
peer walks past them: in a run started right after JsSIP's, wsconn_get and
wsconn_put_id took 11 % of Kamailio's CPU (perf), and its CPU for 10,000
registrations ranged from 2.0 to 4.2 s; started 8 s later, 1.8-2.0 s."""


def wait_until_settled(
    server: KamailioServer, *, idle_cores: float = 0.02, timeout_s: float = 30.0
) -> float:
    """Wait until the previous peer is gone from the server: WEBSOCKET_REMOVE_DELAY_S,
    then until Kamailio uses less than ``idle_cores`` of a core over half a second (at
    most ``timeout_s`` in all). Each peer then starts on the same server state, as the
    first one does. Returns the seconds waited."""
    started = time.monotonic()
    time.sleep(WEBSOCKET_REMOVE_DELAY_S)
    while time.monotonic() - started < timeout_s:
        before = kamailio_cpu(server)
        time.sleep(0.5)
        if kamailio_cpu(server) - before < 0.5 * idle_cores:
            break
    return time.monotonic() - started


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
