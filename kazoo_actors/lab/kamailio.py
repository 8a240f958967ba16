"""A real Kamailio process on 127.0.0.1 for tests and the ``lab`` CLI.

Kamailio's main process forks its workers into the same process group, and the workers
outlive a main process killed with SIGKILL, so every hard stop signals the whole group.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType

from kazoo_actors.lab.config import DEFAULT_MODULES_DIR, KamailioSettings, render_config
from kazoo_actors.lab.ports import LOOPBACK, pick_free_ports
from kazoo_actors.lab.readiness import answers_options, websocket_upgrades

_BINARY_CANDIDATES = ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio")
_POLL_SECONDS = 0.01
_PORT_RACE_RETRIES = 3
_LOG_TAIL_LINES = 40

_live_servers: weakref.WeakSet[KamailioServer] = weakref.WeakSet()


class KamailioNotInstalled(RuntimeError):
    """The kamailio binary or its WebSocket module is missing."""


class KamailioStartError(RuntimeError):
    """Kamailio exited or did not answer on its ports in time; the message holds the log tail."""


def find_kamailio() -> Path | None:
    found = shutil.which("kamailio")
    if found:
        return Path(found)
    for candidate in _BINARY_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def require_kamailio(modules_dir: Path = DEFAULT_MODULES_DIR) -> Path:
    binary = find_kamailio()
    if binary is None:
        raise KamailioNotInstalled(
            "kamailio is not installed: apt-get install kamailio kamailio-websocket-modules"
        )
    if not (modules_dir / "websocket.so").exists():
        raise KamailioNotInstalled(
            f"{modules_dir}/websocket.so is missing: apt-get install kamailio-websocket-modules"
        )
    return binary


class KamailioServer:
    """One Kamailio with its own ports, run directory, config and log.

    Ports are chosen on the first ``start()`` and kept for ``restart()``, so clients can
    reconnect to the same URL. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        settings: KamailioSettings | None = None,
        *,
        sip_port: int | None = None,
        ws_port: int | None = None,
        run_dir: Path | None = None,
        modules_dir: Path = DEFAULT_MODULES_DIR,
        start_timeout: float = 5.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.settings = settings or KamailioSettings()
        self._sip_port = sip_port
        self._ws_port = ws_port
        self._ports_fixed = sip_port is not None and ws_port is not None
        self._run_dir = run_dir
        self._owns_run_dir = run_dir is None
        self._modules_dir = modules_dir
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # -- addresses and credentials -------------------------------------------------------

    @property
    def sip_port(self) -> int:
        if self._sip_port is None:
            raise RuntimeError("the server has not been started yet")
        return self._sip_port

    @property
    def udp_port(self) -> int:
        return self.sip_port

    @property
    def tcp_port(self) -> int:
        return self.sip_port

    @property
    def ws_port(self) -> int:
        if self._ws_port is None:
            raise RuntimeError("the server has not been started yet")
        return self._ws_port

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.ws_port}"

    @property
    def udp_address(self) -> tuple[str, int]:
        return (LOOPBACK, self.udp_port)

    @property
    def realm(self) -> str:
        return self.settings.realm

    @property
    def password(self) -> str:
        return self.settings.password

    @property
    def run_dir(self) -> Path:
        if self._run_dir is None:
            raise RuntimeError("the server has not been started yet")
        return self._run_dir

    @property
    def config_path(self) -> Path:
        return self.run_dir / "kamailio.cfg"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "kamailio.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        """Everything Kamailio logged, across restarts."""
        if self._run_dir is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, detached: bool = False) -> None:
        """Start Kamailio and return once its UDP and WebSocket ports answer.

        ``detached`` leaves the process running after this Python process exits (the CLI's
        ``lab up``); it is then stopped by pid, see ``kazoo_actors.lab.detached``.
        """
        if self.running:
            raise RuntimeError("the server is already running")
        binary = require_kamailio(self._modules_dir)
        if self._run_dir is None:
            self._run_dir = Path(tempfile.mkdtemp(prefix="kazoo-kamailio-"))
        for attempt in range(_PORT_RACE_RETRIES):
            if self._sip_port is None or self._ws_port is None:
                self._sip_port, self._ws_port = pick_free_ports(2)
            self._launch(binary)
            try:
                self._wait_ready()
            except KamailioStartError as error:
                log = self._log_since_launch()
                lost_port_race = "Address already in use" in log and not self._ports_fixed
                self._terminate_group(signal.SIGKILL)
                if lost_port_race and attempt + 1 < _PORT_RACE_RETRIES:
                    self._sip_port = self._ws_port = None
                    continue
                raise error from None
            break
        self._ports_fixed = True
        if not detached:
            _live_servers.add(self)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL for the whole process group after the stop timeout."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # The whole group, not just main: a worker still being forked when main
            # forwards SIGTERM would miss it, and main would wait for that worker.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                self._terminate_group(signal.SIGKILL)
        self._terminate_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole server at once, as a crash would (for fault tests)."""
        self._terminate_group(signal.SIGKILL)

    def restart(self) -> None:
        """Stop if running, then start again on the same ports."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and remove the run directory this server created."""
        self.stop()
        _live_servers.discard(self)
        if self._owns_run_dir and self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None

    def detach(self) -> int:
        """Forget a detached process without stopping it; its pid."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        pid = self._process.pid
        # Popen would otherwise warn about a child still running at interpreter exit.
        self._process.returncode = 0
        self._process = None
        return pid

    def __enter__(self) -> KamailioServer:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _launch(self, binary: Path) -> None:
        run_dir = self.run_dir
        self.config_path.write_text(
            render_config(
                self.settings,
                sip_port=self.sip_port,
                ws_port=self.ws_port,
                run_dir=run_dir,
                modules_dir=self._modules_dir,
            )
        )
        command = [
            str(binary),
            "-DD",
            "-E",
            "-m",
            str(self.settings.shared_memory_mb),
            "-x",
            self.settings.memory_manager,
            "-f",
            str(self.config_path),
            "-Y",
            str(run_dir),
            "-w",
            str(run_dir),
            "-P",
            str(run_dir / "kamailio.pid"),
        ]
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            # A new session makes the workers one process group, and keeps Ctrl-C in a
            # terminal (meant for the CLI) away from a detached server.
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=run_dir,
                start_new_session=True,
                close_fds=True,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise KamailioStartError(self._failure("exited while starting"))
            if websocket_upgrades(self.ws_port) and answers_options(self.sip_port, self.realm):
                return
            time.sleep(_POLL_SECONDS)
        raise KamailioStartError(self._failure(f"did not answer within {self._start_timeout} s"))

    def _failure(self, what: str) -> str:
        tail = "\n".join(self._log_since_launch().splitlines()[-_LOG_TAIL_LINES:])
        return (
            f"kamailio on {LOOPBACK} (sip {self._sip_port}, ws {self._ws_port}) {what}; "
            f"config {self.config_path}; log tail:\n{tail}"
        )

    def _log_since_launch(self) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def _terminate_group(self, signum: signal.Signals) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(self._stop_timeout)
        self._process = None


@atexit.register
def _stop_leftover_servers() -> None:
    """A test run that dies mid-way must not leave Kamailio holding ports."""
    for server in list(_live_servers):
        server.kill()
