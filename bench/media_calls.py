"""Concurrent two-way media calls: audio continuity, CPU and memory per call.

Each call is a pair of MediaSessions negotiated directly on loopback (no SIP), both sending
a tone. For each level N the bench sets up N calls at once, lets media settle for
``--settle`` seconds (setup bursts are not counted), runs it for ``--seconds`` and reports:

- frames received / expected over the measuring window (50 decoded 20 ms frames per second
  per direction; below 100 % means dropped or late audio), and frames the far ends sent,
  so a shortfall can be placed on the sending or on the receiving side,
- CPU of the process as % of one core over the window, CPU-milliseconds per call-second,
  and CPU-microseconds per frame moved (sent + received: steadier than either on a shared
  machine, where a starved process does less work per second),
- RSS growth per call (after setup, relative to the process before the level),
- setup time: the caller's create_offer() start to the first decoded frame at the callee,
  p50 / p95 over the N calls of the level (call starts staggered by ``--stagger`` ms),
- the 1-minute load average when the level ended: the bench shares the machine, and when
  the load exceeds the cores the process simply does not get the CPU it needs.

``--streams`` gives each calling session a FrameStream sink drained by a Trio task (decoded
frames cross from the bridge thread to Trio). ``--callees here`` (default) runs both ends of
every call in this process. ``--callees child`` runs the answering ends in a child process
(SDP over its stdin/stdout), so this process carries one end of each call, as a softphone
process would; the child's frames and CPU are reported alongside (``far`` columns).

Run: .venv/bin/python bench/media_calls.py --levels 1 10 20 --seconds 5 [--codec PCMU]
     [--callees child] [--streams] [--counters] [--source FILE] [--opus-complexity N]
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from subprocess import PIPE
from typing import Any

import psutil
import trio

# MediaSession loads aiortc and av with the first session; load them before any level so that
# their memory is not counted as the first level's RSS per call.
import media.peer  # noqa: F401
from media.options import MediaOptions
from media.session import MediaSession
from media.sinks import FrameStream
from media.sources import AudioSource, FileSource, Tone

FRAMES_PER_SECOND = 50


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def counters(sessions: Sequence[MediaSession]) -> dict[str, float]:
    stats = [s.statistics() for s in sessions]
    return {
        "sent": sum(s.frames_sent for s in stats),
        "received": sum(s.frames_received for s in stats),
        "packets": sum(s.packets_received for s in stats),
        "decode_errors": sum(s.decode_errors for s in stats),
        "resyncs": sum(s.send_resyncs for s in stats),
    }


def moved(now: dict[str, float], before: dict[str, float]) -> float:
    """Frames sent plus frames received between two snapshots: the unit of media work, so
    CPU per frame stays comparable when a starved process falls behind."""
    return now["sent"] + now["received"] - before["sent"] - before["received"]


class Lines:
    """JSON lines over a pair of byte streams (the child's pipes)."""

    def __init__(self, send: trio.abc.SendStream, receive: trio.abc.ReceiveStream) -> None:
        self._send, self._receive = send, receive
        self._buffer = bytearray()

    async def put(self, value: object) -> None:
        await self._send.send_all(json.dumps(value).encode() + b"\n")

    async def get(self) -> Any:
        while b"\n" not in self._buffer:
            chunk = await self._receive.receive_some()
            if not chunk:
                raise EOFError("the other process closed its pipe")
            self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return json.loads(line)


class LocalCallees:
    """The answering ends in this process."""

    def __init__(self, options: MediaOptions, source_path: str | None) -> None:
        self.options = options
        self.source_path = source_path
        self.sessions: list[MediaSession] = []

    async def answer(self, index: int, offer: str) -> str:
        session = MediaSession(self.options, source=source(self.source_path, 900 + index))
        self.sessions.append(session)
        return await session.create_answer(offer)

    async def wait_audio(self) -> None:
        for session in self.sessions:
            await session.wait_audio()

    async def snapshot(self) -> dict[str, float]:
        return {**counters(self.sessions), "cpu": 0.0}

    async def close(self) -> None:
        for session in self.sessions:
            await session.aclose()
        self.sessions = []


class ChildCallees:
    """The answering ends in a child process (``--serve``), driven over JSON lines."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._lines = Lines(process.stdin, process.stdout)
        self._lock = trio.Lock()

    async def _ask(self, request: dict[str, Any]) -> Any:
        async with self._lock:
            await self._lines.put(request)
            return await self._lines.get()

    async def answer(self, index: int, offer: str) -> str:
        reply: str = await self._ask({"op": "answer", "index": index, "sdp": offer})
        return reply

    async def wait_audio(self) -> None:
        await self._ask({"op": "wait_audio"})

    async def snapshot(self) -> dict[str, float]:
        reply: dict[str, float] = await self._ask({"op": "snapshot"})
        return reply

    async def close(self) -> None:
        await self._ask({"op": "close"})


async def serve(args: argparse.Namespace) -> None:
    """Child process: answer offers from stdin until it closes."""
    callees = LocalCallees(loopback(args), args.source)
    process = psutil.Process()
    lines = Lines(trio.lowlevel.FdStream(os.dup(1)), trio.lowlevel.FdStream(os.dup(0)))
    async with trio.open_nursery() as nursery:
        while True:
            try:
                request = await lines.get()
            except EOFError:
                break
            op = request["op"]
            if op == "answer":
                await lines.put(await callees.answer(request["index"], request["sdp"]))
            elif op == "wait_audio":
                await callees.wait_audio()
                await lines.put(True)
            elif op == "snapshot":
                await lines.put({**counters(callees.sessions), "cpu": cpu_seconds(process)})
            elif op == "close":
                await callees.close()
                await lines.put(True)
        nursery.cancel_scope.cancel()
    await callees.close()


def loopback(args: argparse.Namespace) -> MediaOptions:
    return MediaOptions(
        host_addresses=["127.0.0.1"], codecs=(args.codec,), opus_complexity=args.opus_complexity
    )


def source(path: str | None, frequency: float) -> AudioSource:
    """A looped file when ``--source`` names one (speech costs more to encode than a
    tone), else a tone of its own per session."""
    return Tone(frequency) if path is None else FileSource(path, loop=True)


async def connect(caller: MediaSession, callees: LocalCallees | ChildCallees, index: int) -> None:
    offer = await caller.create_offer()
    answer = await callees.answer(index, offer)
    await caller.accept_answer(answer)
    await caller.wait_audio()


async def run_level(
    calls: int,
    seconds: float,
    settle: float,
    options: MediaOptions,
    stagger: float,
    callees: LocalCallees | ChildCallees,
    streams: bool = False,
    source_path: str | None = None,
) -> dict[str, Any]:
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    sinks = [FrameStream() for _ in range(calls)] if streams else []
    callers = [
        MediaSession(options, source=source(source_path, 400 + i), sinks=sinks[i : i + 1])
        for i in range(calls)
    ]
    read = [0]

    async def drain(stream: FrameStream) -> None:
        async for _ in stream:
            read[0] += 1

    try:
        async with trio.open_nursery() as readers:
            for stream in sinks:
                readers.start_soon(drain, stream)
            row = await _measure(calls, seconds, settle, stagger, callers, callees, process)
            for caller in callers:
                await caller.aclose()
    finally:
        with trio.CancelScope(shield=True):
            for caller in callers:
                await caller.aclose()
            await callees.close()
    row["rss_kb_per_call"] = (row.pop("rss_connected") - rss_before) / 1024 / calls
    row["stream_frames_read"] = read[0]
    row["stream_frames_dropped"] = sum(stream.dropped for stream in sinks)
    return row


async def _measure(
    calls: int,
    seconds: float,
    settle: float,
    stagger: float,
    callers: list[MediaSession],
    callees: LocalCallees | ChildCallees,
    process: psutil.Process,
) -> dict[str, Any]:
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for index, caller in enumerate(callers):
                nursery.start_soon(connect, caller, callees, index)
                await trio.sleep(stagger)
        await callees.wait_audio()
    rss_connected = process.memory_info().rss
    await trio.sleep(settle)
    local = callers if isinstance(callees, ChildCallees) else callers + callees.sessions
    near_before, far_before = counters(local), await callees.snapshot()
    cpu_before = cpu_seconds(process)
    wall_before = time.monotonic()
    await trio.sleep(seconds)
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds(process) - cpu_before
    near, far = counters(local), await callees.snapshot()
    setups = []
    if isinstance(callees, LocalCallees):
        for caller, callee in zip(callers, callees.sessions, strict=True):
            if caller.started_at is not None and callee.first_audio_at is not None:
                setups.append((callee.first_audio_at - caller.started_at) * 1000)
    else:
        setups = [
            (c.first_audio_at - c.started_at) * 1000
            for c in callers
            if c.first_audio_at is not None and c.started_at is not None
        ]
    call_seconds = calls * wall
    return {
        "calls": calls,
        "received": near["received"] - near_before["received"],
        "expected": FRAMES_PER_SECOND * wall * len(local),
        "near": {k: near[k] - near_before[k] for k in near},
        "far": {k: far[k] - far_before[k] for k in far if k != "cpu"},
        "far_sent": far["sent"] - far_before["sent"],
        "far_received": far["received"] - far_before["received"],
        "far_expected": FRAMES_PER_SECOND * wall * calls
        if isinstance(callees, ChildCallees)
        else 0,
        "cpu_pct": 100 * cpu / wall,
        "cpu_ms_per_call_s": 1000 * cpu / call_seconds,
        "cpu_us_per_frame": 1e6 * cpu / max(1, moved(near, near_before)),
        "far_cpu_us_per_frame": 1e6
        * (far["cpu"] - far_before["cpu"])
        / max(1, moved(far, far_before)),
        "far_cpu_ms_per_call_s": 1000 * (far["cpu"] - far_before["cpu"]) / call_seconds,
        "rss_connected": rss_connected,
        "setup_p50": statistics.median(setups),
        "setup_p95": percentile(setups, 0.95),
        "load": os.getloadavg()[0],
    }


async def main(args: argparse.Namespace) -> None:
    options = loopback(args)
    print(
        f"codec {args.codec} (complexity {args.opus_complexity}), source "
        f"{args.source or 'tones'}, callees {args.callees}, {args.seconds:g} s per level after "
        f"{args.settle:g} s settling, call starts {args.stagger:g} ms apart"
    )
    print(
        f"{'calls':>5} {'frames rx/expected':>20} {'ratio':>7} {'far tx':>7} {'far rx':>7} "
        f"{'CPU %':>6} "
        f"{'ms/call-s':>9} {'far ms':>6} {'us/frame':>8} {'far us':>6} {'RSS KB':>6} "
        f"{'setup p50':>9} {'p95':>5} {'load':>5}"
    )
    async with trio.open_nursery() as nursery:
        callees: LocalCallees | ChildCallees
        if args.callees == "child":
            command = [sys.executable, __file__, "--serve", "--codec", args.codec]
            if args.source is not None:
                command += ["--source", args.source]
            if args.opus_complexity is not None:
                command += ["--opus-complexity", str(args.opus_complexity)]
            process = await nursery.start(
                functools.partial(trio.run_process, command, stdin=PIPE, stdout=PIPE, check=False)
            )
            callees = ChildCallees(process)
        else:
            callees = LocalCallees(options, args.source)
        for calls in args.levels:
            row = await run_level(
                calls,
                args.seconds,
                args.settle,
                options,
                args.stagger / 1000,
                callees,
                args.streams,
            )
            far = (
                f"{row['far_sent'] / row['far_expected']:>7.1%} "
                f"{row['far_received'] / row['far_expected']:>7.1%}"
                if row["far_expected"]
                else f"{'-':>7} {'-':>7}"
            )
            print(
                f"{calls:>5} {row['received']:>9.0f}/{row['expected']:<10.0f} "
                f"{row['received'] / row['expected']:>7.1%} {far} {row['cpu_pct']:>6.1f} "
                f"{row['cpu_ms_per_call_s']:>9.1f} {row['far_cpu_ms_per_call_s']:>6.1f} "
                f"{row['cpu_us_per_frame']:>8.0f} {row['far_cpu_us_per_frame']:>6.0f} "
                f"{row['rss_kb_per_call']:>6.0f} {row['setup_p50']:>9.0f} "
                f"{row['setup_p95']:>5.0f} {row['load']:>5.1f}",
                flush=True,
            )
            if args.counters:
                print(f"      near {row['near']}\n      far  {row['far']}", flush=True)
            if args.streams:
                print(
                    f"      FrameStream frames read {row['stream_frames_read']}, "
                    f"dropped {row['stream_frames_dropped']}",
                    flush=True,
                )
        if isinstance(callees, ChildCallees):
            assert callees.process.stdin is not None
            await callees.process.stdin.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--codec", default="opus", choices=["opus", "PCMU", "PCMA"])
    parser.add_argument("--stagger", type=float, default=50.0, help="ms between call starts")
    parser.add_argument("--callees", choices=["here", "child"], default="here")
    parser.add_argument(
        "--counters", action="store_true", help="print packet/frame counters of both ends"
    )
    parser.add_argument(
        "--streams",
        action="store_true",
        help="give each calling session a FrameStream sink read by a Trio task",
    )
    parser.add_argument("--source", help="an audio file every session sends, looped")
    parser.add_argument("--opus-complexity", type=int, help="libopus complexity 0-10")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        trio.run(serve, arguments)
    else:
        trio.run(main, arguments)
