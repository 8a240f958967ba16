"""How fast can anything register over SIP-over-WebSocket here? The engine beside its floors.

    .venv/bin/python bench/register_ceiling.py --accounts 5000 [--skip-jssip]

One lab Kamailio; each peer in its own process registers --accounts accounts (one WebSocket
each, digest auth, --concurrency attempts in flight) under user names of its own:

- ``floor-epoll``: bench/peers/floor_register.py with a plain epoll loop and byte templates,
  the least any client can cost; its rate is what this machine and this Kamailio allow;
- ``floor-trio``: the same exchange from Trio tasks (the engine's runtime), no SIP stack;
- ``kazoo-actors``: the engine (bench/engine_peer.py), full stack;
- ``JsSIP``: JsSIP 3.13 on Node (bench/kazoo_peer.py), unless --skip-jssip.

For each: registrations/s, the client's CPU per registration, Kamailio's CPU per
registration during that peer's registering phase, and the rate relative to the epoll floor.
Each peer after the first starts once the server has let go of the previous one's
connections (bench_server.wait_until_settled).
The client CPU of one registration bounds what a single-threaded client process can reach:
1 / (CPU per registration) registrations per second of one core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.bench_server import (  # noqa: E402
    bench_settings,
    kamailio_cpu,
    run_jssip_register,
    wait_until_settled,
)
from kazoo_actors.lab.kamailio import KamailioServer  # noqa: E402


def _peer_argv(
    name: str, server: KamailioServer, args: argparse.Namespace, first: int
) -> list[str]:
    common = [
        f"--ws-url={server.ws_url}",
        f"--realm={server.realm}",
        f"--password={server.password}",
        f"--count={args.accounts}",
        f"--concurrency={args.concurrency}",
    ]
    if name == "kazoo-actors":
        return [
            sys.executable,
            str(BENCH / "engine_peer.py"),
            "--mode=register",
            "--hold=0",
            *common,
        ]
    loop = name.removeprefix("floor-")
    script = BENCH / "peers" / "floor_register.py"
    return [sys.executable, str(script), f"--loop={loop}", f"--first={first}", *common]


def run_peer(
    name: str, server: KamailioServer, args: argparse.Namespace, first: int
) -> dict[str, Any]:
    """Run one peer; Kamailio's CPU is read when the peer reports its result, i.e. over
    the registering phase only (the engine unregisters afterwards)."""
    before = kamailio_cpu(server)
    with subprocess.Popen(
        _peer_argv(name, server, args, first), stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            report = json.loads(line)
            if report.get("event") == "result":
                report["kamailio_cpu_s"] = kamailio_cpu(server) - before
                process.stdout.read()
                process.wait(timeout=args.timeout)
                return dict(report)
    raise SystemExit(f"{name} printed no result (exit {process.returncode})")


def run_jssip(server: KamailioServer, args: argparse.Namespace) -> dict[str, Any] | None:
    before = kamailio_cpu(server)
    report = run_jssip_register(
        server, accounts=args.accounts, concurrency=args.concurrency, hold_s=0
    )
    if report is not None:
        # JsSIP's report arrives after it unregistered: its Kamailio CPU covers both phases.
        report["kamailio_cpu_s"] = kamailio_cpu(server) - before
    return report


def table(reports: dict[str, dict[str, Any]]) -> str:
    floor = reports["floor-epoll"]["registrations_per_s"]
    lines = [
        "| peer           | registered | reg/s | client CPU ms/reg | 1-core bound reg/s "
        "| Kamailio CPU ms/reg | rate vs epoll floor |",
        "|----------------|-----------:|------:|------------------:|-------------------:"
        "|--------------------:|--------------------:|",
    ]
    for name, report in reports.items():
        registered = report["registered"]
        cpu_s = report.get("cpu_s", report.get("register_cpu_s"))
        per_reg = 1000 * cpu_s / registered if registered and cpu_s else float("nan")
        bound = 1000 / per_reg if per_reg == per_reg else float("nan")
        kamailio = 1000 * report["kamailio_cpu_s"] / registered if registered else float("nan")
        rate = report["registrations_per_s"]
        lines.append(
            f"| {name:<14} | {registered:>10} | {rate:>5.0f} | {per_reg:>17.3f} | {bound:>18.0f} "
            f"| {kamailio:>19.3f} | {rate / floor:>19.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--skip-jssip", action="store_true")
    args = parser.parse_args()

    reports: dict[str, dict[str, Any]] = {}
    started = time.time()
    with KamailioServer(bench_settings(2 * args.accounts, children=2, tcp_children=2)) as server:
        for index, name in enumerate(("floor-epoll", "floor-trio", "kazoo-actors")):
            if index:
                wait_until_settled(server)
            reports[name] = run_peer(name, server, args, first=(index + 1) * 1_000_000)
        if not args.skip_jssip:
            wait_until_settled(server)
            jssip = run_jssip(server, args)
            if jssip is not None:
                jssip["cpu_s"] = jssip.get("register_cpu_s")
                reports["JsSIP (Node)"] = jssip
    print(
        f"\n{args.accounts} accounts per peer, {args.concurrency} attempts in flight, "
        f"{time.time() - started:.0f} s in all; load average {psutil.getloadavg()[0]:.2f}\n"
    )
    print(table(reports))


if __name__ == "__main__":
    main()
