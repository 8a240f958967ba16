"""A lab Kamailio that outlives the command that started it (``lab up`` / ``lab down``).

``lab up`` leaves the server running and writes a state file; ``lab down``, a later process,
finds it there and stops it by pid. The pid is checked against the run directory on the
process's command line first, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import psutil

from kazoo_actors.lab.config import KamailioSettings
from kazoo_actors.lab.kamailio import KamailioServer

_POLL_SECONDS = 0.02


class LabStateError(RuntimeError):
    """The state file is missing, unreadable, or names a lab that is still up."""


def default_state_path() -> Path:
    return Path(tempfile.gettempdir()) / f"kazoo-actors-lab-{os.getuid()}.json"


@attrs.frozen
class LabState:
    """What ``lab up`` prints and ``lab down`` needs."""

    ws_url: str
    realm: str
    password: str
    udp_port: int
    tcp_port: int
    ws_port: int
    pid: int
    run_dir: str

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LabState:
        try:
            data: Any = json.loads(text)
            return cls(**{field.name: data[field.name] for field in attrs.fields(cls)})
        except (ValueError, TypeError, KeyError) as error:
            raise LabStateError(f"unreadable lab state: {error}") from error


def start_detached(
    settings: KamailioSettings,
    *,
    state_path: Path,
    sip_port: int | None = None,
    ws_port: int | None = None,
) -> LabState:
    existing = read_state(state_path)
    if existing is not None and _is_lab_process(existing):
        raise LabStateError(
            f"a lab is already up (pid {existing.pid}, {existing.ws_url}); "
            f"run `kazoo-actors lab down` first"
        )
    server = KamailioServer(settings, sip_port=sip_port, ws_port=ws_port)
    server.start(detached=True)
    state = LabState(
        ws_url=server.ws_url,
        realm=server.realm,
        password=server.password,
        udp_port=server.udp_port,
        tcp_port=server.tcp_port,
        ws_port=server.ws_port,
        pid=server.detach(),
        run_dir=str(server.run_dir),
    )
    state_path.write_text(state.to_json() + "\n")
    return state


def read_state(state_path: Path) -> LabState | None:
    try:
        text = state_path.read_text()
    except FileNotFoundError:
        return None
    return LabState.from_json(text)


def stop_detached(state_path: Path, *, timeout: float = 5.0) -> LabState | None:
    """Stop the lab named in the state file; None when there was none."""
    state = read_state(state_path)
    if state is None:
        return None
    if _is_lab_process(state):
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_lab_process(state) and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
        # Workers left behind (or a main process that ignored SIGTERM) share its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(state.pid, signal.SIGKILL)
    shutil.rmtree(state.run_dir, ignore_errors=True)
    state_path.unlink(missing_ok=True)
    return state


def _is_lab_process(state: LabState) -> bool:
    try:
        process = psutil.Process(state.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return any(state.run_dir in argument for argument in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
