"""Memory and start time per supervised child: N idle children under one supervisor.

Run: .venv/bin/python bench/supervisor_children.py [N]
Prints JSON: bytes per child from RSS and from tracemalloc (Python allocations, next to
what a bare Trio task costs), and the time per ``start_child`` call.
"""

from __future__ import annotations

import functools
import gc
import json
import sys
import time
import tracemalloc
from typing import Any

import psutil
import trio

from kazoo_actors.actors.child_spec import ChildSpec, SupervisorSpec
from kazoo_actors.actors.supervisor import Supervisor


async def idle_child(*, task_status: trio.TaskStatus[Any]) -> None:
    task_status.started()
    await trio.sleep_forever()


async def idle_task(*, task_status: trio.TaskStatus[Any]) -> None:
    task_status.started()
    await trio.sleep_forever()


def traced_since(before: tracemalloc.Snapshot | None) -> int:
    if before is None:
        return 0
    return sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))


def snapshot() -> tracemalloc.Snapshot | None:
    gc.collect()
    return tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None


async def measure(n: int) -> dict[str, float]:
    process = psutil.Process()
    sup = Supervisor(SupervisorSpec(intensity=10, period=1))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        bare_bytes = 0
        if tracemalloc.is_tracing():
            # What one Trio task costs without any supervision, for comparison.
            async with trio.open_nursery() as bare:
                before = snapshot()
                for _ in range(n):
                    await bare.start(idle_task)
                gc.collect()
                bare_bytes = traced_since(before)
                bare.cancel_scope.cancel()
        gc.collect()
        rss0 = process.memory_info().rss
        before = snapshot()
        t0 = time.perf_counter()
        for i in range(n):
            await sup.start_child(ChildSpec(id=f"c{i}", start=functools.partial(idle_child)))
        elapsed = time.perf_counter() - t0
        gc.collect()
        traced = traced_since(before)
        rss1 = process.memory_info().rss
        assert sup.statistics().running == n
        sup.shutdown()
    if tracemalloc.is_tracing():
        return {
            "children": n,
            "traced_bytes_per_child": round(traced / n),
            "traced_bytes_per_bare_task": round(bare_bytes / n),
        }
    return {
        "children": n,
        "rss_bytes_per_child": round((rss1 - rss0) / n),
        "start_child_us": round(elapsed / n * 1e6, 1),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    # RSS and timing without tracemalloc (it slows allocation down and costs memory itself).
    result = trio.run(measure, n)
    tracemalloc.start()
    result |= trio.run(measure, n)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
