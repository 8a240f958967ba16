"""kazoo-actors as a benchmark peer: the engine in its own process, JSON lines out.

It speaks the same report protocol as the JsSIP peer (bench/peers/jssip_register.mjs), so the
benches treat both alike and the RSS it reports is the engine's alone:

    python bench/engine_peer.py --mode register --ws-url URL --realm R --password P \
        --count N --concurrency 50 --hold 30
    python bench/engine_peer.py --mode recovery ...   # "ready", then "lost"/"registered",
                                                      # "all_registered"; "stop" on stdin ends it
    python bench/engine_peer.py --mode frozen ...     # bench/engine_instructions.py's child

register: one `result` line with registered, failed, duration_s, registrations_per_s,
register_cpu_s, register_latency_ms, rss_mb_before, rss_mb_after, rss_kb_per_account (RSS
growth after a full GC / registered), peak_connecting, errors, and with --hold: hold_s,
idle_cpu_percent (of one core, refreshes and keep-alives included), lost_registrations.

frozen: register, then log out, on a frozen Trio clock, so no keep-alive, refresh, reconnect
delay or shared-nonce expiry fires however slowly valgrind runs; one `result` line with
registered, errors, shared_nonces_offered; exit status 1 unless every account registered.
The caller bounds it in time: a frozen clock cannot time out by itself.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

# Appended, not prepended: a PYTHONPATH naming another checkout (bench/engine_instructions.py)
# decides which kazoo_actors runs.
sys.path.append(str(Path(__file__).resolve().parent.parent))

import psutil
import trio
import trio.testing

from kazoo_actors.account import Account
from kazoo_actors.engine import Engine, open_engine
from kazoo_actors.events import AccountEvent
from kazoo_actors.params import RegisterParams
from kazoo_actors.soak_report import percentile


def say(event: str, **fields: Any) -> None:
    print(
        json.dumps({"event": event, "peer": "kazoo-actors", "t": time.time(), **fields}), flush=True
    )


class Tally:
    """Per-account registration state kept from the accounts' callbacks (no task per account)."""

    def __init__(self, count: int, recovery: bool) -> None:
        self.registered = [False] * count
        self.ever = [False] * count
        self.latency_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.reconnect_attempts = 0
        self.recovery = recovery
        self.registered_now = 0
        self.ever_count = 0
        self.lost_total = 0
        self.last_registration = 0.0
        # Made only while a loop waits for news: register mode never does, and an
        # Event per account event would be the bench's CPU counted as the engine's.
        self._changed: trio.Event | None = None
        self.accounts: list[Account] = []

    async def changed(self) -> None:
        """Return after the next account event."""
        if self._changed is None:
            self._changed = trio.Event()
        await self._changed.wait()

    def on_event(self, index: int, event: AccountEvent) -> None:
        if event.key == "connected":
            if not self.registered[index]:
                self.registered[index] = True
                self.registered_now += 1
            if not self.ever[index]:
                self.ever[index] = True
                self.ever_count += 1
                # From the attempt's slot, as the JsSIP peer counts from UA.start.
                started = self.accounts[index].attempt_started_at
                self.latency_ms.append(1000 * (trio.current_time() - started))
                self.last_registration = time.perf_counter()
            elif self.recovery:
                say("registered", account=index, user=f"kazoo{index}")
        elif event.key == "reconnecting_notification":
            self.reconnect_attempts += 1
        elif event.key in ("disconnected", "server_not_reachable", "unauthorized", "forbidden"):
            self.errors[event.key] += 1
            if self.registered[index]:
                self.registered[index] = False
                self.registered_now -= 1
                self.lost_total += 1
                if self.recovery:
                    say("lost", account=index, user=f"kazoo{index}")
        if self._changed is not None:
            self._changed.set()
            self._changed = None


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _register_all(engine: Engine, args: argparse.Namespace, tally: Tally) -> list[Account]:
    accounts = tally.accounts
    for index in range(args.count):
        user = args.user_template.format(i=args.first + index)
        callback = partial(tally.on_event, index)
        params = RegisterParams(
            ws_url=args.ws_url,
            realm=args.realm,
            private_identity=user,
            public_identity=user,
            password=args.password,
            expires=args.expires,
            reconnect_delay=args.reconnect_delay,
            monitor_connectivity=False,
            on_connected=callback,
            on_error=callback,
            on_notified=callback,
        )
        accounts.append(await engine.register(params))
    return accounts


async def run(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.count + 1024)), hard))
    process = psutil.Process()
    tally = Tally(args.count, args.mode == "recovery")
    async with open_engine(
        max_connecting=args.concurrency, monitor_connectivity=False, tune_gc=True
    ) as engine:
        gc.collect()
        rss_before = process.memory_info().rss
        cpu_before = _cpu(process)
        began = time.perf_counter()
        accounts = await _register_all(engine, args, tally)
        with trio.move_on_after(args.attempt_timeout + args.count / 20):
            # Who gave up is looked up only when the count stands still for a second (a
            # scan of 10,000 accounts five times a second cost ~2 % of the measured CPU);
            # the duration ends at the last registration, not at this loop's end.
            seen = -1
            while len(tally.latency_ms) < len(accounts):
                await trio.sleep(1.0)
                if len(tally.latency_ms) != seen:
                    seen = len(tally.latency_ms)
                    continue
                down = sum(a.state.value == "down" for a in accounts)
                if down + len(tally.latency_ms) >= len(accounts):
                    break
        duration = (tally.last_registration or time.perf_counter()) - began
        register_cpu = _cpu(process) - cpu_before
        gc.collect()
        rss_after = process.memory_info().rss
        registered = len(tally.latency_ms)
        latencies = sorted(tally.latency_ms)
        report: dict[str, Any] = {
            "registered": registered,
            "failed": args.count - registered,
            "duration_s": round(duration, 3),
            "registrations_per_s": round(registered / duration, 1) if duration > 0 else 0.0,
            "register_cpu_s": round(register_cpu, 3),
            "registrations_per_cpu_s": round(registered / register_cpu, 1) if register_cpu else 0,
            "register_latency_ms": {
                name: round(percentile(latencies, q) or 0.0, 1)
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            },
            "rss_mb_before": round(rss_before / 1e6, 1),
            "rss_mb_after": round(rss_after / 1e6, 1),
            "rss_kb_per_account": round((rss_after - rss_before) / 1024 / registered, 2)
            if registered
            else None,
            "peak_connecting": engine.statistics().attempts.peak_in_flight,
            # First REGISTERs sent with a nonce another account had registered with.
            "shared_nonces_offered": _shared_nonces_offered(engine),
            "errors": dict(tally.errors),
            "jssip_version": "-",
            "node_version": "-",
        }
        if args.mode == "register":
            if args.hold > 0:
                cpu_hold = _cpu(process)
                await trio.sleep(args.hold)
                idle = _cpu(process) - cpu_hold
                report.update(
                    hold_s=args.hold,
                    idle_cpu_s=round(idle, 3),
                    idle_cpu_percent=round(100 * idle / args.hold, 2),
                    lost_registrations=sum(1 for r in tally.registered if not r) - report["failed"],
                )
            say("result", **report)
        else:
            say("ready", **report)
            await _recover(engine, tally)
        await _logout_all(accounts)
        say("stopped", stopped=len(accounts))


def _shared_nonces_offered(engine: Engine) -> int:
    challenges = engine.statistics().challenges
    return 0 if challenges is None else challenges.offered


async def _recover(engine: Engine, tally: Tally) -> None:
    """Report lost and re-registered accounts until every lost one is back; then await stop."""
    async with trio.open_nursery() as nursery:

        async def read_stop() -> None:
            stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
            buffer = b""
            while b"stop" not in buffer:
                chunk = await stdin.receive_some(1024)
                if not chunk:
                    break
                buffer += chunk
            nursery.cancel_scope.cancel()

        nursery.start_soon(read_stop)
        gate_peak_before = engine.statistics().attempts.peak_in_flight
        while True:
            while tally.lost_total == 0 or tally.registered_now < tally.ever_count:
                await tally.changed()
            say(
                "all_registered",
                lost_total=tally.lost_total,
                reconnect_attempts=tally.reconnect_attempts,
                peak_connecting=max(gate_peak_before, engine.statistics().attempts.peak_in_flight),
            )
            tally.lost_total = 0
            tally.reconnect_attempts = 0


async def _logout_all(accounts: list[Account]) -> None:
    pending = iter(accounts)

    async def worker() -> None:
        for account in pending:
            with trio.move_on_after(5):
                await account.logout()

    async with trio.open_nursery() as nursery:
        for _ in range(min(200, len(accounts))):
            nursery.start_soon(worker)


async def run_frozen(args: argparse.Namespace) -> bool:
    """Register and log out every account with no timer firing; whether all registered."""
    tally = Tally(args.count, recovery=False)
    async with open_engine(
        max_connecting=args.concurrency, monitor_connectivity=False, tune_gc=True
    ) as engine:
        accounts = await _register_all(engine, args, tally)
        # A failed account never registers and a frozen clock never times out: the wait
        # ends once every account registered or reported a failure.
        while tally.ever_count + sum(tally.errors.values()) < len(accounts):
            await tally.changed()
        offered = _shared_nonces_offered(engine)
        await _logout_all(accounts)
    errors = dict(tally.errors)
    say("result", registered=tally.ever_count, errors=errors, shared_nonces_offered=offered)
    return tally.ever_count == len(accounts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("register", "recovery", "frozen"), default="register")
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--realm", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--user-template", default="kazoo{i}")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--expires", type=int, default=600)
    parser.add_argument("--reconnect-delay", type=int, default=2000, help="ms")
    parser.add_argument("--attempt-timeout", type=float, default=30.0)
    parser.add_argument("--hold", type=float, default=0.0)
    args = parser.parse_args()
    if args.mode == "frozen":
        everyone = trio.run(run_frozen, args, clock=trio.testing.MockClock(rate=0))
        return 0 if everyone else 1
    trio.run(run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
