"""Registering many accounts: kazoo-actors vs JsSIP on Node, same Kamailio, same run.

    .venv/bin/python bench/register_bench.py                  # 10,000 accounts each
    .venv/bin/python bench/register_bench.py --accounts 2000 --hold 30
    .venv/bin/python bench/register_bench.py --rounds 3      # alternating, with medians

Each peer runs in its own process (so RSS is its own) with at most --concurrency connection
attempts in flight, registers its accounts (one WebSocket each, digest auth), holds them
--hold seconds measuring idle CPU, then unregisters. Prints a table and the ratios; --json
writes both reports. The machines here change speed by a third within minutes: --rounds N
runs the pair N times, alternating, against the same server, and ends with each round's
rates and the medians. Every peer after the first starts once the server has let go of the
previous one's connections (bench_server.wait_until_settled). Targets from issue 3:
>= 2,500 registrations/s and >= 2x JsSIP, <= 20 KB RSS per account, idle CPU < 5 % of a core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.bench_server import (  # noqa: E402
    bench_settings,
    kamailio_cpu,
    run_jssip_register,
    wait_until_settled,
)
from kazoo_actors.lab.kamailio import KamailioServer  # noqa: E402


def run_engine(server: KamailioServer, args: argparse.Namespace) -> dict[str, Any]:
    argv = [
        sys.executable,
        str(BENCH / "engine_peer.py"),
        "--mode=register",
        f"--ws-url={server.ws_url}",
        f"--realm={server.realm}",
        f"--password={server.password}",
        f"--count={args.accounts}",
        f"--concurrency={args.concurrency}",
        f"--hold={args.hold}",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"engine peer failed ({done.returncode}):\n{done.stderr[-3000:]}")
    for line in done.stdout.splitlines():
        report = json.loads(line)
        if report.get("event") == "result":
            return dict(report)
    raise SystemExit(f"engine peer printed no result:\n{done.stdout[-2000:]}")


ROWS = (
    ("registered", "registered", "{:.0f}"),
    ("failed", "failed", "{:.0f}"),
    ("registrations/s", "registrations_per_s", "{:.0f}"),
    ("registrations per CPU-s", "registrations_per_cpu_s", "{:.0f}"),
    ("register CPU s", "register_cpu_s", "{:.2f}"),
    ("latency p50 ms", ("register_latency_ms", "p50"), "{:.0f}"),
    ("latency p95 ms", ("register_latency_ms", "p95"), "{:.0f}"),
    ("latency p99 ms", ("register_latency_ms", "p99"), "{:.0f}"),
    ("RSS KB/account", "rss_kb_per_account", "{:.1f}"),
    ("idle CPU % (hold)", "idle_cpu_percent", "{:.2f}"),
    ("lost during hold", "lost_registrations", "{:.0f}"),
    ("peak attempts in flight", "peak_connecting", "{:.0f}"),
)


def _value(report: Mapping[str, Any] | None, key: str | tuple[str, str]) -> float | None:
    if report is None:
        return None
    value = report[key[0]].get(key[1]) if isinstance(key, tuple) else report.get(key)
    return None if value is None else float(value)


def table(engine: dict[str, Any], jssip: dict[str, Any] | None) -> str:
    lines = [
        f"| {'':<24} | {'kazoo-actors':>12} | {'JsSIP (Node)':>12} | {'ratio':>6} |",
        f"|{'-' * 26}|{'-' * 14}:|{'-' * 14}:|{'-' * 7}:|",
    ]
    for label, key, fmt in ROWS:
        ours, theirs = _value(engine, key), _value(jssip, key)
        ratio = f"{ours / theirs:.2f}" if ours is not None and theirs else "-"
        mine, peer = (fmt.format(v) if v is not None else "-" for v in (ours, theirs))
        lines.append(f"| {label:<24} | {mine:>12} | {peer:>12} | {ratio:>6} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds of idle measurement")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--skip-jssip", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="engine/JsSIP pairs, alternating")
    parser.add_argument("--json", type=Path, help="write every report here")
    args = parser.parse_args()

    rounds: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    with KamailioServer(bench_settings(args.accounts, children=2, tcp_children=2)) as server:
        for round_number in range(1, args.rounds + 1):
            started = time.time()
            if round_number > 1:
                wait_until_settled(server)
            before = kamailio_cpu(server)
            engine = run_engine(server, args)
            engine_server_cpu = kamailio_cpu(server) - before
            jssip = None
            jssip_server_cpu = 0.0
            if not args.skip_jssip:
                wait_until_settled(server)
                before = kamailio_cpu(server)
                jssip = run_jssip_register(
                    server, accounts=args.accounts, concurrency=args.concurrency, hold_s=args.hold
                )
                jssip_server_cpu = kamailio_cpu(server) - before
            rounds.append((engine, jssip))
            heading = f"round {round_number} of {args.rounds}: " if args.rounds > 1 else ""
            print(
                f"\n{heading}{args.accounts} accounts each, {args.concurrency} attempts in flight, "
                f"hold {args.hold:.0f} s, {time.time() - started:.0f} s in all"
            )
            print(
                f"Kamailio CPU: {engine_server_cpu:.1f} s during the engine's run, "
                f"{jssip_server_cpu:.1f} s during JsSIP's\n"
            )
            print(table(engine, jssip), flush=True)
    if args.rounds > 1:
        print("\n" + rates_by_round(rounds))
    if args.json is not None:
        reports = [{"kazoo-actors": engine, "jssip": jssip} for engine, jssip in rounds]
        args.json.write_text(
            json.dumps(reports if args.rounds > 1 else reports[0], indent=2) + "\n"
        )


def rates_by_round(rounds: Sequence[tuple[Mapping[str, Any], Mapping[str, Any] | None]]) -> str:
    """Registrations/s of both peers and their ratio in each round, then the medians."""
    lines = [
        f"| {'round':<6} | {'kazoo-actors reg/s':>18} | {'JsSIP reg/s':>11} | {'ratio':>6} |",
        f"|{'-' * 8}|{'-' * 19}:|{'-' * 12}:|{'-' * 7}:|",
    ]
    ours_all, theirs_all, ratios = [], [], []
    for number, (engine, jssip) in enumerate(rounds, 1):
        ours = float(engine["registrations_per_s"])
        theirs = _value(jssip, "registrations_per_s")
        ours_all.append(ours)
        if theirs:
            theirs_all.append(theirs)
            ratios.append(ours / theirs)
        peer = f"{theirs:.0f}" if theirs else "-"
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        lines.append(f"| {number:<6} | {ours:>18.0f} | {peer:>11} | {ratio:>6} |")
    peer = f"{statistics.median(theirs_all):.0f}" if theirs_all else "-"
    ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
    lines.append(
        f"| {'median':<6} | {statistics.median(ours_all):>18.0f} | {peer:>11} | {ratio:>6} |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
