"""Calls between engine accounts through a lab Kamailio: setup time, concurrency, signalling rate.

Three measurements, each printed as one JSON line (issue 4's targets):

- ``setup``: ``--setup-calls`` sequential calls A -> B with WebRTC media (tones). Setup time
  is the caller's offer creation (just before its INVITE) to the first decoded frame at the
  callee, both on the media bridge's clock; p50 / p95 / max in ms.
- ``concurrent``: for each ``--levels`` N, N two-way media calls up at once. The callee
  accounts run in a child process (``--serve-callees``), so this process carries one end
  of each call, as a softphone process would; over a ``--seconds`` window: decoded frames
  this process received / expected (50 per second per call), its CPU as % of one core,
  and the load average (the machine is shared: above 2.0 the process is starved).
- ``signalling``: calls with ``call_defaults.media = "none"`` (inactive SDP, no media stack)
  placed by ``--pairs`` callers for ``--seconds``, each answered automatically and hung up
  at once, every caller placing its next call as soon as the last one ended; setups per
  second (INVITE sent -> accepted) with p50 / p95, our CPU per setup and Kamailio's (for
  the whole run, and min / median over its one-second ``chunks``).
  ``--signalling-callees child`` answers in a child process (its CPU per setup reported as
  well), so this process carries only the calling side; ``here`` (the default) answers in
  this process too, which then carries both ends of every call, twice the SIP work.

  Issue 4's "200 call setups per second from one engine process" is read with
  ``child``: a load generator originates calls, and the far ends are not its work (in a
  soak run they are phones or a PBX). ``here`` is the stricter figure, both legs of every
  call in one process, and is reported next to it. Each caller is a closed loop, so the
  rate is at most pairs / (setup + teardown time): when no process is saturated (``child``
  on a busy machine) it measures latency more than capacity, and CPU per setup is the
  figure to compare between runs.

Run: .venv/bin/python bench/sip_calls.py [--setup-calls 20] [--levels 1 10 20]
     [--seconds 5] [--pairs 20] [--codec opus|PCMU] [--only setup|concurrent|signalling]
     [--signalling-callees here|child]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import psutil
import trio

from kazoo_actors.account import Account
from kazoo_actors.call import Call
from kazoo_actors.engine import Engine, open_engine
from kazoo_actors.lab.config import KamailioSettings
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.params import RegisterParams
from media.options import MediaOptions
from media.sources import Tone

FRAMES_PER_SECOND = 50
CHUNK_SECONDS = 1.0
LOOPBACK = MediaOptions(host_addresses=["127.0.0.1"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def summary(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {}
    return {
        "p50": round(statistics.median(values_ms), 1),
        "p95": round(percentile(values_ms, 0.95), 1),
        "max": round(max(values_ms), 1),
    }


class Phone:
    """An account that answers every call and remembers its calls."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.incoming: list[Call] = []
        self.arrived = trio.Event()

    def on_incoming(self, call: Call) -> None:
        self.incoming.append(call)
        call.accept()
        self.arrived.set()
        self.arrived = trio.Event()


async def register_phones(
    engine: Engine, server: Any, prefix: str, count: int, *, media: str, tone: float
) -> list[Phone]:
    phones: list[Phone] = []
    for index in range(count):
        holder: list[Phone] = []
        user = f"{prefix}{index}"
        params = RegisterParams(
            ws_url=server.ws_url,
            realm=server.realm,
            private_identity=user,
            public_identity=user,
            password=server.password,
            monitor_connectivity=False,
            on_incoming=lambda call, holder=holder: holder[0].on_incoming(call),
        )
        account = await engine.register(params)
        phone = Phone(account)
        holder.append(phone)
        account.call_defaults.media = media
        account.call_defaults.media_options = LOOPBACK
        account.call_defaults.source = lambda tone=tone: Tone(tone)
        phones.append(phone)
    with trio.fail_after(30):
        while not all(phone.account.registered for phone in phones):
            await trio.sleep(0.05)
    return phones


@asynccontextmanager
async def lab() -> AsyncIterator[KamailioServer]:
    server = KamailioServer(KamailioSettings(children=4, tcp_children=4))
    server.start()
    try:
        yield server
    finally:
        server.close()


async def wait_answered(call: Call, timeout: float = 10) -> None:
    """Until the call's ``accepted`` event (its own event stream; no polling)."""
    # A plain scope rather than fail_after's generator-based context manager, and the
    # iterator closed here rather than by trio's finalizer task: the signalling run
    # does this for every call, and its CPU per setup should be the engine's.
    with trio.CancelScope(deadline=trio.current_time() + timeout):
        async with contextlib.aclosing(call.events()) as events:
            async for event in events:
                if event.key == "accepted":
                    return
                if event.key in ("cancel", "hangup"):
                    raise RuntimeError(f"call ended before the answer: {event.as_dict()}")
        raise RuntimeError("call ended before the answer")
    raise trio.TooSlowError


async def bench_setup(engine: Engine, server: KamailioServer, calls: int) -> dict[str, object]:
    (caller,) = await register_phones(engine, server, "setupa", 1, media="webrtc", tone=440)
    (callee,) = await register_phones(engine, server, "setupb", 1, media="webrtc", tone=880)
    setups: list[float] = []
    for _ in range(calls):
        call = await caller.account.connect(callee.account.params.user)
        await wait_answered(call)
        with trio.fail_after(10):
            while not callee.incoming or callee.incoming[-1].media is None:
                await trio.sleep(0.005)
            far = callee.incoming[-1]
            assert far.media is not None and call.media is not None
            await far.media.wait_audio()
        started, heard = call.media.started_at, far.media.first_audio_at
        if started is not None and heard is not None:
            setups.append((heard - started) * 1000)
        call.hangup()
        await far.wait_ended()
    return {"bench": "setup", "calls": calls, "setup_ms": summary(setups)}


async def serve_callees(args: argparse.Namespace) -> None:
    """Child process: ``--serve-callees`` accounts answering every call until stdin closes."""
    server = _RemoteLab(args.ws_url, args.realm, args.password)
    async with open_engine(tune_gc=True) as engine:
        phones = await register_phones(
            engine, server, args.prefix, args.serve_callees, media=args.media, tone=880
        )
        for phone in phones:
            phone.account.call_defaults.media_options = _options(args.codec)
        print("ready", flush=True)
        # Block in a worker thread until the parent closes our stdin.
        await trio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)


@asynccontextmanager
async def callee_process(
    server: KamailioServer, prefix: str, count: int, *, media: str, codec: str = "opus"
) -> AsyncIterator[subprocess.Popen[str]]:
    """``count`` answering accounts ``<prefix>0..`` in a child process, until the block ends."""
    command = [
        sys.executable, __file__, "--serve-callees", str(count), "--prefix", prefix,
        "--ws-url", server.ws_url, "--realm", server.realm, "--password", server.password,
        "--codec", codec, "--media", media,
    ]  # fmt: skip
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        ready = await trio.to_thread.run_sync(child.stdout.readline)
        if ready.strip() != "ready":
            raise RuntimeError(f"callee process did not start: {ready!r}")
        yield child
    finally:
        if child.stdin is not None:
            child.stdin.close()
        await trio.to_thread.run_sync(child.wait)


@attrs.frozen
class _RemoteLab:
    """The parts of a KamailioServer a child process needs."""

    ws_url: str
    realm: str
    password: str


async def bench_concurrent(
    engine: Engine, server: KamailioServer, level: int, seconds: float, codec: str
) -> dict[str, object]:
    callers = await register_phones(engine, server, f"c{level}a", level, media="webrtc", tone=440)
    for caller in callers:
        caller.account.call_defaults.media_options = _options(codec)
    async with callee_process(server, f"c{level}b", level, media="webrtc", codec=codec) as child:
        calls = [await c.account.connect(f"c{level}b{i}") for i, c in enumerate(callers)]
        with trio.fail_after(60):
            for call in calls:
                await wait_answered(call, timeout=60)
            for call in calls:
                assert call.media is not None
                await call.media.wait_audio()
        sessions = [call.media for call in calls if call.media is not None]
        per_call = [session.statistics().frames_received for session in sessions]
        sent_before = sum(session.statistics().frames_sent for session in sessions)
        ours, callees = _cpu_seconds(os.getpid(), tree=False), _cpu_seconds(child.pid)
        started = time.monotonic()
        await trio.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu = 100 * (_cpu_seconds(os.getpid(), tree=False) - ours) / elapsed
        callee_cpu = 100 * (_cpu_seconds(child.pid) - callees) / elapsed
        per_call = [
            s.statistics().frames_received - b for s, b in zip(sessions, per_call, strict=True)
        ]
        received = sum(per_call)
        sent = sum(session.statistics().frames_sent for session in sessions) - sent_before
        expected = FRAMES_PER_SECOND * elapsed * len(sessions)
        for call in calls:
            call.hangup()
        for call in calls:
            with trio.move_on_after(5):
                await call.wait_ended()
    return {
        "bench": "concurrent",
        "calls": level,
        "codec": codec,
        "frames_received": received,
        "frames_expected": round(expected),
        "ratio": round(received / expected, 4) if expected else None,
        "frames_sent": sent,
        "per_call_min_max": [min(per_call), max(per_call)],
        "cpu_percent_of_one_core": round(cpu, 1),
        "callee_process_cpu_percent": round(callee_cpu, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _options(codec: str) -> MediaOptions:
    return MediaOptions(host_addresses=["127.0.0.1"], codecs=codec)


async def bench_signalling(
    engine: Engine, server: KamailioServer, pairs: int, seconds: float, callees_where: str
) -> dict[str, object]:
    """``callees_where``: ``here`` (both ends of every call in this process) or ``child``
    (this process only places the calls, as a load generator would)."""
    callers = await register_phones(engine, server, "sa", pairs, media="none", tone=440)
    if callees_where == "here":
        await register_phones(engine, server, "sb", pairs, media="none", tone=880)
        return await _signalling_run(server, callers, seconds, callees_where)
    async with callee_process(server, "sb", pairs, media="none") as child:
        return await _signalling_run(server, callers, seconds, callees_where, child.pid)


async def _signalling_run(
    server: KamailioServer,
    callers: list[Phone],
    seconds: float,
    callees_where: str,
    callee_pid: int | None = None,
) -> dict[str, object]:
    setups: list[float] = []
    failures = 0
    deadline = trio.current_time() + seconds

    async def loop(caller: Phone, callee: str) -> None:
        nonlocal failures
        while trio.current_time() < deadline:
            started = trio.current_time()
            try:
                call = await caller.account.connect(callee)
                await wait_answered(call)
            except Exception:
                failures += 1
                continue
            setups.append((trio.current_time() - started) * 1000)
            call.hangup()
            await call.wait_ended()

    def reading() -> tuple[int, float, float, float]:
        own = _cpu_seconds(os.getpid(), tree=False)
        return len(setups), own, _cpu_seconds(server.pid), _cpu_seconds(callee_pid)

    readings: list[tuple[int, float, float, float]] = []

    async def sample() -> None:
        # CPU per setup per one-second chunk as well: other load on the shared
        # machine comes and goes within a run, and the quietest chunk is steadier.
        while trio.current_time() < deadline:
            await trio.sleep(CHUNK_SECONDS)
            readings.append(reading())

    ours, kamailio = _cpu_seconds(os.getpid(), tree=False), _cpu_seconds(server.pid)
    callees = _cpu_seconds(callee_pid)
    readings.append((0, ours, kamailio, callees))
    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample)
        for index, caller in enumerate(callers):
            nursery.start_soon(loop, caller, f"sb{index}")
    elapsed = trio.current_time() - started
    ours = _cpu_seconds(os.getpid(), tree=False) - ours
    kamailio = _cpu_seconds(server.pid) - kamailio
    callees = _cpu_seconds(callee_pid) - callees
    count = len(setups)
    return {
        "bench": "signalling",
        "pairs": len(callers),
        "callees": callees_where,
        "seconds": round(elapsed, 2),
        "setups": len(setups),
        "failures": failures,
        "setups_per_second": round(len(setups) / elapsed, 1),
        "setup_ms": summary(setups),
        "cpu_percent_of_one_core": round(100 * ours / elapsed, 1),
        "cpu_ms_per_setup": round(1000 * ours / count, 2) if count else None,
        "kamailio_cpu_percent_of_one_core": round(100 * kamailio / elapsed, 1),
        "kamailio_cpu_ms_per_setup": round(1000 * kamailio / count, 2) if count else None,
        "callee_process_cpu_ms_per_setup": (
            round(1000 * callees / count, 2) if count and callee_pid is not None else None
        ),
        "chunks": _chunks(readings, callee_pid is not None),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _chunks(
    readings: list[tuple[int, float, float, float]], with_callees: bool
) -> dict[str, dict[str, float]]:
    """Min and median over the run's one-second chunks of CPU ms per setup."""
    per_chunk: dict[str, list[float]] = {"ours": [], "kamailio": [], "callees": []}
    for before, after in itertools.pairwise(readings):
        count = after[0] - before[0]
        if count < 20:
            continue  # a chunk cut short at the end, or a stall: too few setups to divide by
        for index, name in enumerate(per_chunk, start=1):
            per_chunk[name].append(1000 * (after[index] - before[index]) / count)
    if not with_callees:
        del per_chunk["callees"]
    return {
        f"{name}_cpu_ms_per_setup": {
            "min": round(min(values), 2),
            "median": round(statistics.median(values), 2),
        }
        for name, values in per_chunk.items()
        if values
    }


def _cpu_seconds(pid: int | None, *, tree: bool = True) -> float:
    """User + system CPU so far of a process, and with ``tree`` of its children
    (Kamailio forks its workers; ours are Kamailio itself)."""
    if pid is None:
        return 0.0
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *(root.children(recursive=True) if tree else [])]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


async def main(args: argparse.Namespace) -> None:
    async with lab() as server, open_engine(tune_gc=True) as engine:
        if args.only in (None, "setup"):
            print(json.dumps(await bench_setup(engine, server, args.setup_calls)), flush=True)
        if args.only in (None, "concurrent"):
            for level in args.levels:
                result = await bench_concurrent(engine, server, level, args.seconds, args.codec)
                print(json.dumps(result), flush=True)
        if args.only in (None, "signalling"):
            result = await bench_signalling(
                engine, server, args.pairs, args.seconds, args.signalling_callees
            )
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-calls", type=int, default=20)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 20])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--only", choices=("setup", "concurrent", "signalling"))
    parser.add_argument("--codec", choices=("opus", "PCMU", "PCMA"), default="opus")
    parser.add_argument(
        "--signalling-callees",
        choices=("here", "child"),
        default="here",
        help="answer signalling-only calls in this process or in a child process",
    )
    parser.add_argument("--serve-callees", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--media", default="webrtc", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--ws-url", help=argparse.SUPPRESS)
    parser.add_argument("--realm", help=argparse.SUPPRESS)
    parser.add_argument("--password", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    trio.run(serve_callees if arguments.serve_callees else main, arguments)
