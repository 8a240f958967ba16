"""User-space instructions the engine spends per account, registering and logging out.

    .venv/bin/python bench/engine_instructions.py [TREE ...] [--low 100] [--high 700]

CPU time on these shared machines swings 20-50 % within minutes; callgrind's instruction
count does not. For each tree (a checkout of this project; default: this one) the engine
registers --low and then --high accounts against one lab Kamailio under callgrind and logs
them out (bench/engine_peer.py --mode frozen, on a frozen Trio clock, so no timer fires however
slowly valgrind runs). The difference divided by high - low is the cost of one account with
start-up and imports cancelled out. Trees are measured in one run, side by side; the first is
the base of the ratio. Kernel work (syscalls) is not counted: use strace -c for that.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.bench_server import bench_settings  # noqa: E402
from kazoo_actors.lab.kamailio import KamailioServer  # noqa: E402

CHILD = BENCH / "engine_peer.py"
RUN_TIMEOUT_S = 900.0


def callgrind_total(text: str) -> int:
    """The whole-program instruction count of a callgrind output file."""
    for line in text.splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError("no summary or totals line in the callgrind output")


def child_run(tree: Path, server: KamailioServer, count: int, first: int, tool: list[str]) -> None:
    """One child run in ``tree`` registering and logging out ``count`` accounts."""
    command = [
        *tool,
        sys.executable,
        str(CHILD),
        "--mode=frozen",
        f"--ws-url={server.ws_url}",
        f"--realm={server.realm}",
        f"--password={server.password}",
        f"--count={count}",
        f"--first={first}",
    ]
    done = subprocess.run(
        command,
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {count} accounts: {done.stdout}{done.stderr[-2000:]}")


def instructions(tree: Path, server: KamailioServer, count: int, first: int) -> int:
    """Instructions of one child run in ``tree`` under callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        tool = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        child_run(tree, server, count, first, tool)
        return callgrind_total(out.read_text())


def revision(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[BENCH.parent])
    parser.add_argument("--low", type=int, default=100)
    parser.add_argument("--high", type=int, default=700)
    args = parser.parse_args()
    if not 0 < args.low < args.high:
        parser.error("need 0 < --low < --high")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian package valgrind)", file=sys.stderr)
        return 2
    rows = []
    with KamailioServer(bench_settings(args.high * len(args.trees))) as server:
        first = random.randrange(1_000_000, 9_000_000, 10_000)
        for tree in args.trees:
            # Not counted: it writes the tree's byte-code caches, which the first
            # measured run would otherwise pay for (seen: a negative difference).
            child_run(tree.resolve(), server, 5, first, [])
            first += 5
            low = instructions(tree.resolve(), server, args.low, first)
            first += args.low
            high = instructions(tree.resolve(), server, args.high, first)
            first += args.high
            print(f"{tree}: {args.low} accounts {low:,} Ir, {args.high} accounts {high:,} Ir")
            rows.append((tree, revision(tree), (high - low) / (args.high - args.low)))
    base = rows[0][2]
    print()
    print(f"{args.low} and {args.high} accounts per tree, register + logout, frozen clock")
    print()
    print(f"| {'tree':<30} | {'revision':<14} | {'Ir/account':>12} | {'ratio':>6} |")
    print(f"|{'-' * 32}|{'-' * 16}|{'-' * 13}:|{'-' * 7}:|")
    for tree, rev, per_account in rows:
        ratio = per_account / base
        print(f"| {tree!s:<30} | {rev:<14} | {per_account:>12,.0f} | {ratio:>6.3f} |")
    print(json.dumps({str(tree): round(per) for tree, _, per in rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
