"""Recovery after a server outage: kazoo-actors vs JsSIP on Node, same Kamailio, same run.

    .venv/bin/python bench/recovery_bench.py                   # 10,000 accounts each
    .venv/bin/python bench/recovery_bench.py --accounts 1000 --outage 10

For each peer in turn: register N accounts, stop Kamailio for --outage seconds, start it
again on the same ports, and measure how long after its return every account is registered
again, with the peak number of connection attempts in flight. Target from issue 3: all back
within 10 s of the server's return (JsSIP's 2-30 s random backoff needed ~30 s for 1,000).
The engine runs with its seed defaults except reconnect_delay 2000 ms (the seed's minimum).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.bench_server import bench_settings  # noqa: E402
from bench.kazoo_peer import PeerConfig, PeerUnavailable, RecoveryPeer  # noqa: E402
from kazoo_actors.lab.kamailio import KamailioServer  # noqa: E402


@dataclass(frozen=True, kw_only=True)
class EnginePeerConfig(PeerConfig):
    """Runs bench/engine_peer.py instead of the Node script; same reports, same driver."""

    user_template: str = "kazoo{i}"

    def argv(self, node: str, mode: str, hold_s: float = 0.0) -> list[str]:
        del node  # the engine is Python
        return [
            sys.executable,
            str(BENCH / "engine_peer.py"),
            f"--mode={mode}",
            f"--ws-url={self.ws_url}",
            f"--realm={self.realm}",
            f"--password={self.password}",
            f"--user-template={self.user_template}",
            f"--count={self.count}",
            f"--concurrency={self.concurrency}",
            f"--expires={self.expires}",
            f"--hold={hold_s}",
        ]


def _quantile(moments: list[float], q: float, origin: float) -> float | None:
    """Seconds after ``origin`` by which a fraction ``q`` of the accounts were back."""
    if not moments:
        return None
    ordered = sorted(moments)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] - origin, 2)


def measure(server: KamailioServer, config: PeerConfig, outage: float) -> dict[str, Any]:
    with RecoveryPeer(config) as peer:
        ready = peer.wait_ready()
        stopped_at = time.time()
        server.stop()
        time.sleep(max(0.0, outage - (time.time() - stopped_at)))
        server.start()
        back_at = time.time()
        recovery = peer.wait_all_registered(timeout_s=max(120.0, config.count / 10))
        peer.stop()
    return {
        "registered_before": ready.registered,
        "lost": recovery.lost,
        "all_back_after_return_s": round(recovery.seconds_after(back_at), 2),
        **{
            f"{name}_back_after_return_s": _quantile(recovery.reregistered_at, q, back_at)
            for name, q in (("median", 0.5), ("p90", 0.9), ("p99", 0.99))
        },
        "reconnect_attempts": recovery.reconnect_attempts,
        "peak_attempts_in_flight": recovery.peak_connecting,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the server is down")
    parser.add_argument("--skip-jssip", action="store_true")
    args = parser.parse_args()

    results: dict[str, dict[str, Any] | None] = {}
    with KamailioServer(bench_settings(args.accounts)) as server:
        common = {
            "ws_url": server.ws_url,
            "realm": server.realm,
            "password": server.password,
            "count": args.accounts,
            "concurrency": args.concurrency,
        }
        results["kazoo-actors"] = measure(server, EnginePeerConfig(**common), args.outage)
        if not args.skip_jssip:
            try:
                results["JsSIP (Node)"] = measure(server, PeerConfig(**common), args.outage)
            except PeerUnavailable as exc:
                print(f"JsSIP peer unavailable: {exc}", file=sys.stderr)
    print(
        f"\n{args.accounts} accounts each, Kamailio down {args.outage:.0f} s, "
        f"{args.concurrency} attempts in flight at most\n"
    )
    keys = [key for result in results.values() if result for key in result]
    names = list(results)
    print("| " + " | ".join([f"{'':<28}", *(f"{n:>14}" for n in names)]) + " |")
    print("|" + "|".join(["-" * 30, *("-" * 15 + ":" for _ in names)]) + "|")
    for key in dict.fromkeys(keys):
        cells = [str((results[n] or {}).get(key, "-")) for n in names]
        print("| " + " | ".join([f"{key:<28}", *(f"{c:>14}" for c in cells)]) + " |")


if __name__ == "__main__":
    main()
