"""A lab Kamailio that outlives the command that started it (``lab up`` / ``lab down``).

``lab up`` leaves the server running and writes a state file; ``lab down``, a later process,
finds it there and stops it by pid. The pid is checked against the run directory on the
process's command line first, so a recycled pid is never signalled. Given ``mwi`` (mailbox
counts), a voicemail notifier process is started first in the same run directory, Kamailio
relays message-summary SUBSCRIBEs to it, and ``lab down`` stops it too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import psutil

from kazoo_actors.lab.config import KamailioSettings
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.message_summary_body import VoicemailCounts
from kazoo_actors.lab.mwi_notifier_process import is_notifier_process, start_notifier_process

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
    # The voicemail notifier (``lab up --mwi``): ``host:port`` as KamailioSettings takes it.
    mwi_server: str | None = None
    mwi_pid: int | None = None

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LabState:
        try:
            data: Any = json.loads(text)
            # Fields with defaults may be absent: a state file from before they existed.
            names = [field.name for field in attrs.fields(cls)]
            return cls(**{name: data[name] for name in names if name in data})
        except (ValueError, TypeError, KeyError) as error:
            raise LabStateError(f"unreadable lab state: {error}") from error


def start_detached(
    settings: KamailioSettings,
    *,
    state_path: Path,
    sip_port: int | None = None,
    ws_port: int | None = None,
    mwi: VoicemailCounts | None = None,
) -> LabState:
    """Start Kamailio (after a voicemail notifier with these counts, given ``mwi``), detached."""
    existing = read_state(state_path)
    if existing is not None and _any_lab_process(existing):
        raise LabStateError(
            f"a lab is already up (pid {existing.pid}, {existing.ws_url}); "
            f"run `kazoo-actors lab down` first"
        )
    if mwi is not None and settings.mwi_server is not None:
        raise ValueError("mwi starts a notifier of its own; settings.mwi_server must be None")
    run_dir = Path(tempfile.mkdtemp(prefix="kazoo-kamailio-"))
    mwi_pid: int | None = None
    try:
        if mwi is not None:
            mwi_pid, mwi_server = start_notifier_process(run_dir, mwi)
            settings = attrs.evolve(settings, mwi_server=mwi_server)
        server = KamailioServer(settings, sip_port=sip_port, ws_port=ws_port, run_dir=run_dir)
        server.start(detached=True)
    except BaseException:
        if mwi_pid is not None:
            _stop_group(mwi_pid, lambda: is_notifier_process(mwi_pid, str(run_dir)), 0.0)
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    state = LabState(
        ws_url=server.ws_url,
        realm=server.realm,
        password=server.password,
        udp_port=server.udp_port,
        tcp_port=server.tcp_port,
        ws_port=server.ws_port,
        pid=server.detach(),
        run_dir=str(run_dir),
        mwi_server=settings.mwi_server,
        mwi_pid=mwi_pid,
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
    """Stop the lab named in the state file (Kamailio, then its notifier); None when there
    was none."""
    state = read_state(state_path)
    if state is None:
        return None
    _stop_group(state.pid, lambda: _is_lab_process(state), timeout)
    mwi_pid = state.mwi_pid
    if mwi_pid is not None:
        _stop_group(mwi_pid, lambda: is_notifier_process(mwi_pid, state.run_dir), timeout)
    shutil.rmtree(state.run_dir, ignore_errors=True)
    state_path.unlink(missing_ok=True)
    return state


def _stop_group(pid: int, is_ours: Callable[[], bool], timeout: float) -> None:
    """SIGTERM ``pid`` while ``is_ours()``, then SIGKILL its process group after ``timeout``."""
    if not is_ours():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_ours() and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    # Workers left behind (or a main process that ignored SIGTERM) share its group: each
    # process was started in a session of its own, so its pid is the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _any_lab_process(state: LabState) -> bool:
    mwi_alive = state.mwi_pid is not None and is_notifier_process(state.mwi_pid, state.run_dir)
    return _is_lab_process(state) or mwi_alive


def _is_lab_process(state: LabState) -> bool:
    try:
        process = psutil.Process(state.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return any(state.run_dir in argument for argument in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
