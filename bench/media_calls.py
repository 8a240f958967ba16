"""Concurrent two-way media calls in one process: audio continuity, CPU and memory per call.

Each call is a pair of MediaSessions negotiated directly on loopback (no SIP), both sending
a tone. For each level N the bench sets up N calls at once, lets media run for ``--seconds``,
and reports:

- frames received / expected over the measuring window (50 decoded 20 ms frames per second
  per direction; below 100 % means dropped or late audio),
- CPU of the whole process as % of one core over the window,
- RSS growth per call (after setup, relative to the process before the level),
- setup time: the caller's create_offer() start to the first decoded frame at the callee,
  p50 / p95 over the N calls of the level (call starts staggered by ``--stagger`` ms, i.e.
  calls arriving at a steady rate while the earlier ones already carry media),
- the 1-minute load average when the level ended: the bench shares the machine, and when
  the load exceeds the cores the process simply does not get the CPU it needs.

Run: .venv/bin/python bench/media_calls.py --levels 1 5 10 20 --seconds 4 [--codec PCMU]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

import psutil
import trio

from media.options import MediaOptions
from media.session import MediaSession
from media.sources import Tone

FRAMES_PER_SECOND = 50


async def connect(caller: MediaSession, callee: MediaSession) -> None:
    offer = await caller.create_offer()
    answer = await callee.create_answer(offer)
    await caller.accept_answer(answer)
    await caller.wait_audio()
    await callee.wait_audio()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def run_level(
    calls: int, seconds: float, options: MediaOptions, stagger: float
) -> dict[str, float]:
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    pairs = [
        (MediaSession(options, source=Tone(400 + i)), MediaSession(options, source=Tone(900 + i)))
        for i in range(calls)
    ]
    try:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for caller, callee in pairs:
                    nursery.start_soon(connect, caller, callee)
                    await trio.sleep(stagger)
        rss_connected = process.memory_info().rss
        sessions = [s for pair in pairs for s in pair]
        received_before = [s.statistics().frames_received for s in sessions]
        cpu_before = process.cpu_times()
        wall_before = time.monotonic()
        await trio.sleep(seconds)
        wall = time.monotonic() - wall_before
        cpu_after = process.cpu_times()
        received = sum(
            s.statistics().frames_received - before
            for s, before in zip(sessions, received_before, strict=True)
        )
        cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        setups = []
        for caller, callee in pairs:
            if caller.started_at is not None and callee.first_audio_at is not None:
                setups.append((callee.first_audio_at - caller.started_at) * 1000)
    finally:
        with trio.CancelScope(shield=True):
            for caller, callee in pairs:
                await caller.aclose()
                await callee.aclose()
    expected = FRAMES_PER_SECOND * wall * len(sessions)
    return {
        "calls": calls,
        "received": received,
        "expected": expected,
        "cpu_pct": 100 * cpu / wall,
        "rss_kb_per_call": (rss_connected - rss_before) / 1024 / calls,
        "setup_p50": statistics.median(setups),
        "setup_p95": percentile(setups, 0.95),
        "load": os.getloadavg()[0],
    }


async def main(levels: list[int], seconds: float, codec: str, stagger_ms: float) -> None:
    options = MediaOptions(host_addresses=["127.0.0.1"], codecs=(codec,))
    print(f"codec {codec}, {seconds:g} s per level, call starts {stagger_ms:g} ms apart")
    print(
        f"{'calls':>5} {'frames rx/expected':>22} {'ratio':>7} {'CPU % core':>10} "
        f"{'RSS KB/call':>11} {'setup p50 ms':>12} {'p95 ms':>7} {'load':>5}"
    )
    for calls in levels:
        row = await run_level(calls, seconds, options, stagger_ms / 1000)
        print(
            f"{calls:>5} {row['received']:>11.0f}/{row['expected']:<10.0f} "
            f"{row['received'] / row['expected']:>7.1%} {row['cpu_pct']:>10.1f} "
            f"{row['rss_kb_per_call']:>11.0f} {row['setup_p50']:>12.0f} {row['setup_p95']:>7.0f} "
            f"{row['load']:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--codec", default="opus", choices=["opus", "PCMU", "PCMA"])
    parser.add_argument("--stagger", type=float, default=50.0, help="ms between call starts")
    args = parser.parse_args()
    trio.run(main, args.levels, args.seconds, args.codec, args.stagger)
