"""The lab's voicemail notifier as a process of its own, for a lab that outlives ``lab up``.

``mwi_notifier_main`` binds a free UDP port itself and prints ``{"mwi_server": ...}`` first,
so nothing can take the port between choosing and binding it. Its output goes to a log
file in the lab's run directory (a pipe would break once ``lab up`` exits), which is read
here until that line appears. The process runs in the run directory: that, and the module
on its command line, tell ``lab down`` that a pid is still this notifier.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

import kazoo_actors
from kazoo_actors.lab.message_summary_body import VoicemailCounts

MODULE = "kazoo_actors.lab.mwi_notifier_main"
LOG_NAME = "mwi-notifier.log"
_POLL_SECONDS = 0.02
_LOG_TAIL_LINES = 20


class MwiNotifierStartError(RuntimeError):
    """The notifier exited or did not report its address in time; the message holds its log."""


def start_notifier_process(
    run_dir: Path, counts: VoicemailCounts, *, timeout: float = 10.0
) -> tuple[int, str]:
    """Start a detached notifier on a free UDP port of 127.0.0.1; its pid and ``host:port``."""
    log_path = run_dir / LOG_NAME
    command = [
        sys.executable,
        "-m",
        MODULE,
        "--port",
        "0",
        "--new",
        str(counts.new),
        "--old",
        str(counts.old),
    ]
    with open(log_path, "ab") as log:
        # A new session: Ctrl-C in the terminal that ran ``lab up`` must not reach it, and
        # ``lab down`` can signal its group as it does Kamailio's.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=run_dir,
            env=_environment(),
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = _reported_server(log_path)
        if server is not None:
            # Popen would otherwise warn about a child still running at interpreter exit.
            process.returncode = 0
            return process.pid, server
        if process.poll() is not None:
            raise MwiNotifierStartError(_failure(log_path, f"exited ({process.returncode})"))
        time.sleep(_POLL_SECONDS)
    process.kill()
    process.wait()
    raise MwiNotifierStartError(_failure(log_path, f"did not report its port within {timeout} s"))


def is_notifier_process(pid: int, run_dir: str) -> bool:
    """Whether ``pid`` is still the notifier started in ``run_dir`` (not a recycled pid)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return MODULE in process.cmdline() and process.cwd() == os.path.realpath(run_dir)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _environment() -> dict[str, str]:
    """This process's environment, with the directory ``kazoo_actors`` was imported from
    first on the path: the child runs elsewhere, and the package may not be installed."""
    source_root = str(Path(kazoo_actors.__file__).resolve().parent.parent)
    inherited = os.environ.get("PYTHONPATH")
    path = source_root if not inherited else os.pathsep.join((source_root, inherited))
    return {**os.environ, "PYTHONPATH": path}


def _reported_server(log_path: Path) -> str | None:
    """The address from the notifier's first JSON line, once it is complete."""
    complete = log_path.read_text(errors="replace").split("\n")[:-1]
    for line in complete:
        try:
            server = json.loads(line)["mwi_server"]
        except (ValueError, TypeError, KeyError):
            continue  # a warning on stderr may come first
        return server if isinstance(server, str) else None
    return None


def _failure(log_path: Path, what: str) -> str:
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:])
    return f"mwi notifier ({MODULE}) {what}; log {log_path}:\n{tail}"
