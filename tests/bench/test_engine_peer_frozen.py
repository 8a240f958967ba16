"""bench/engine_peer.py --mode frozen (engine_instructions' child), run for real, no valgrind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.engine_instructions import CHILD, callgrind_total
from kazoo_actors.lab.kamailio import KamailioServer

ROOT = Path(__file__).resolve().parents[2]


def _run(server: KamailioServer, *, count: int, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(CHILD),
            "--mode=frozen",
            f"--ws-url={server.ws_url}",
            f"--realm={server.realm}",
            f"--password={password}",
            f"--count={count}",
            "--first=4200",
        ],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_child_registers_every_account_and_logs_them_out(kamailio: KamailioServer) -> None:
    done = _run(kamailio, count=120, password=kamailio.password)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["event"] == "result"
    assert report["registered"] == 120
    assert report["errors"] == {}
    # Accounts past the first batch of 50 borrow a nonce another account registered with.
    assert report["shared_nonces_offered"] >= 1


def test_a_refused_password_ends_the_child_with_an_error(kamailio: KamailioServer) -> None:
    done = _run(kamailio, count=5, password="not-" + kamailio.password)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["registered"] == 0
    assert report["errors"]["unauthorized"] >= 5


def test_callgrind_totals_are_read_from_either_line() -> None:
    assert callgrind_total("events: Ir\nsummary: 1234\n") == 1234
    assert callgrind_total("cmd: x\ntotals: 99\n") == 99
