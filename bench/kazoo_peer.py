"""The JsSIP peer the benchmarks compare kazoo-actors against, run as a Node subprocess.

`bench/peers/jssip_register.mjs` registers many accounts with JsSIP 3.13 (one UA and one
WebSocket each) and prints one JSON report per line on stdout. This module finds node,
installs the pinned npm packages when they are missing, runs the peer and turns its reports
into typed results:

- `run_register(config, hold_s=...)` registers, optionally holds (idle CPU), unregisters and
  returns a `RegisterResult`;
- `RecoveryPeer` keeps the accounts registered while the bench stops and restarts the server,
  and tells when every lost registration came back.

Synchronous on purpose (a reader thread per pipe): a Trio bench calls it through
`trio.to_thread.run_sync`, a plain script calls it directly.
"""

from __future__ import annotations

import collections
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PEERS_DIR = Path(__file__).resolve().parent / "peers"
PEER_SCRIPT = PEERS_DIR / "jssip_register.mjs"
INSTALL_SCRIPT = PEERS_DIR / "install.sh"
MINIMUM_NODE_MAJOR = 18
_STDERR_TAIL_LINES = 40


class PeerUnavailable(RuntimeError):
    """Node, npm or the peer's packages are missing; the message says which and how to fix it."""


class PeerFailed(RuntimeError):
    """The peer exited with an error, timed out or printed a report that does not parse."""


@dataclass(frozen=True, kw_only=True)
class PeerConfig:
    """Who the peer registers and how hard it pushes; `concurrency` bounds the attempts (UA
    start to first registration outcome) in flight."""

    ws_url: str
    realm: str
    password: str
    count: int
    concurrency: int = 50
    # A user range of its own, so the peer never collides with the engine's accounts.
    user_template: str = "jssip{i}"
    first: int = 0
    expires: int = 600
    attempt_timeout_s: float = 30.0
    stop_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if "{i}" not in self.user_template:
            raise ValueError(f"user_template must contain {{i}}: {self.user_template!r}")

    def argv(self, node: str, mode: str, hold_s: float = 0.0) -> list[str]:
        return [
            node,
            # So the peer can collect garbage before reading RSS.
            "--expose-gc",
            str(PEER_SCRIPT),
            f"--mode={mode}",
            f"--ws-url={self.ws_url}",
            f"--realm={self.realm}",
            f"--password={self.password}",
            f"--user-template={self.user_template}",
            f"--first={self.first}",
            f"--count={self.count}",
            f"--concurrency={self.concurrency}",
            f"--expires={self.expires}",
            f"--attempt-timeout={self.attempt_timeout_s}",
            f"--stop-timeout={self.stop_timeout_s}",
            f"--hold={hold_s}",
        ]

    def register_timeout_s(self) -> float:
        """A generous bound for registering every account: 20 per second at worst."""
        return self.count / 20 + self.attempt_timeout_s + 10


@dataclass(frozen=True, kw_only=True)
class RegisterResult:
    """One `result` (register mode) or `ready` (recovery mode) report."""

    registered: int
    failed: int
    duration_s: float
    registrations_per_s: float
    register_cpu_s: float
    register_latency_ms: dict[str, float]
    rss_mb_before: float
    rss_mb_after: float
    rss_kb_per_account: float | None
    peak_connecting: int
    errors: dict[str, int]
    idle_cpu_percent: float | None
    lost_registrations: int | None
    jssip_version: str
    node_version: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> RegisterResult:
        try:
            return cls(
                registered=int(report["registered"]),
                failed=int(report["failed"]),
                duration_s=float(report["duration_s"]),
                registrations_per_s=float(report["registrations_per_s"]),
                register_cpu_s=float(report["register_cpu_s"]),
                register_latency_ms={k: float(v) for k, v in report["register_latency_ms"].items()},
                rss_mb_before=float(report["rss_mb_before"]),
                rss_mb_after=float(report["rss_mb_after"]),
                rss_kb_per_account=_optional_float(report["rss_kb_per_account"]),
                peak_connecting=int(report["peak_connecting"]),
                errors={str(k): int(v) for k, v in report["errors"].items()},
                idle_cpu_percent=_optional_float(report.get("idle_cpu_percent")),
                lost_registrations=_optional_int(report.get("lost_registrations")),
                jssip_version=str(report["jssip_version"]),
                node_version=str(report["node_version"]),
                raw=report,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PeerFailed(f"unexpected report from the JsSIP peer: {report!r}") from exc


@dataclass(frozen=True, kw_only=True)
class RecoveryResult:
    """What happened between the first lost registration and the last one coming back."""

    lost: int
    first_lost_at: float
    reregistered_at: list[float]
    all_registered_at: float
    reconnect_attempts: int
    peak_connecting: int

    def seconds_after(self, moment: float) -> float:
        """Seconds from `moment` (a `time.time()` value, e.g. the server's restart) until
        every account was registered again."""
        return self.all_registered_at - moment


def node_executable() -> str | None:
    return shutil.which("node")


def unavailable_reason() -> str | None:
    """Why the peer cannot run here (None when it can); packages missing counts only when
    npm is missing too, since `ensure_installed` fixes that case."""
    node = node_executable()
    if node is None:
        return "node is not installed (bench/peers/install.sh installs it on Debian as root)"
    major = _node_major(node)
    if major is None or major < MINIMUM_NODE_MAJOR:
        return f"node {MINIMUM_NODE_MAJOR} or newer is needed, found {major}"
    if not _packages_installed() and shutil.which("npm") is None:
        return "bench/peers/node_modules is missing and npm is not installed"
    return None


def ensure_installed(timeout_s: float = 300.0) -> None:
    """Installs the pinned npm packages into bench/peers/node_modules when they are missing."""
    reason = unavailable_reason()
    if reason is not None:
        raise PeerUnavailable(reason)
    if _packages_installed():
        return
    completed = subprocess.run(
        ["sh", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0 or not _packages_installed():
        raise PeerUnavailable(
            f"{INSTALL_SCRIPT} failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}"
        )


def run_register(
    config: PeerConfig, *, hold_s: float = 0.0, timeout_s: float | None = None
) -> RegisterResult:
    """Registers every account, holds them `hold_s` seconds measuring idle CPU, unregisters
    them and returns the peer's report."""
    ensure_installed()
    if timeout_s is None:
        timeout_s = config.register_timeout_s() + hold_s + config.stop_timeout_s + 10
    argv = config.argv(_require_node(), "register", hold_s)
    try:
        completed = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=PEERS_DIR,
        )
    except subprocess.TimeoutExpired as exc:
        raise PeerFailed(f"the JsSIP peer did not finish within {timeout_s:.0f} s") from exc
    if completed.returncode != 0:
        raise PeerFailed(
            f"the JsSIP peer exited with {completed.returncode}: {completed.stderr.strip()[-2000:]}"
        )
    reports = [_parse_line(line) for line in completed.stdout.splitlines() if line.strip()]
    results = [report for report in reports if report.get("event") == "result"]
    if len(results) != 1:
        raise PeerFailed(f"expected one result report from the JsSIP peer, got {reports!r}")
    return RegisterResult.from_report(results[0])


class RecoveryPeer:
    """The peer in recovery mode: accounts stay registered until `stop()`; the caller stops
    and restarts the server in between.

        with RecoveryPeer(config) as peer:
            ready = peer.wait_ready()
            ...stop the server, wait, start it again at `restarted = time.time()`...
            recovery = peer.wait_all_registered(timeout_s=120)
            seconds = recovery.seconds_after(restarted)
    """

    def __init__(self, config: PeerConfig) -> None:
        ensure_installed()
        self._config = config
        self._reports: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._process = subprocess.Popen(
            config.argv(_require_node(), "recovery"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PEERS_DIR,
        )
        # Popen with PIPE always sets these; typed as optional only.
        stdout, stderr = self._process.stdout, self._process.stderr
        if stdout is None or stderr is None:
            raise PeerFailed("the JsSIP peer started without output pipes")
        self._readers = [
            threading.Thread(
                target=self._read_stdout, args=(stdout,), name="jssip-peer-stdout", daemon=True
            ),
            threading.Thread(
                target=self._read_stderr, args=(stderr,), name="jssip-peer-stderr", daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()
        self._lost_at: list[float] = []
        self._reregistered_at: list[float] = []

    def __enter__(self) -> RecoveryPeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self, timeout_s: float | None = None) -> RegisterResult:
        """Waits until the peer registered every account it could and returns that report."""
        if timeout_s is None:
            timeout_s = self._config.register_timeout_s()
        return RegisterResult.from_report(self._next("ready", timeout_s))

    def wait_all_registered(self, timeout_s: float) -> RecoveryResult:
        """Waits until registrations were lost and every lost one came back."""
        report = self._next("all_registered", timeout_s)
        result = RecoveryResult(
            lost=len(self._lost_at),
            first_lost_at=min(self._lost_at, default=float(report["t"])),
            reregistered_at=sorted(self._reregistered_at),
            all_registered_at=float(report["t"]),
            reconnect_attempts=int(report["reconnect_attempts"]),
            peak_connecting=int(report["peak_connecting"]),
        )
        self._lost_at.clear()
        self._reregistered_at.clear()
        return result

    def stop(self, timeout_s: float | None = None) -> dict[str, Any]:
        """Asks the peer to unregister and exit; returns its `stopped` report."""
        if timeout_s is None:
            timeout_s = self._config.stop_timeout_s + 10
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.write("stop\n")
                stdin.close()
            except BrokenPipeError:
                pass
        report = self._next("stopped", timeout_s)
        self._process.wait(timeout=timeout_s)
        return report

    def close(self) -> None:
        """Ends the peer however it is doing; safe to call twice."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=self._config.stop_timeout_s + 5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        # The readers end at EOF once the process is gone; closing a pipe under them would not.
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def _next(self, event: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PeerFailed(f"no {event!r} report from the JsSIP peer within {timeout_s} s")
            try:
                report = self._reports.get(timeout=remaining)
            except queue.Empty:
                continue
            if report is None:
                code = self._process.wait(timeout=10)
                tail = "\n".join(self._stderr)
                raise PeerFailed(
                    f"the JsSIP peer exited ({code}) before reporting {event!r}: {tail}"
                )
            kind = report.get("event")
            if kind == "lost":
                self._lost_at.append(float(report["t"]))
            elif kind == "registered":
                self._reregistered_at.append(float(report["t"]))
            if kind == event:
                return report

    def _read_stdout(self, stdout: IO[str]) -> None:
        for line in stdout:
            if line.strip():
                try:
                    self._reports.put(_parse_line(line))
                except PeerFailed as exc:
                    self._stderr.append(str(exc))
        self._reports.put(None)

    def _read_stderr(self, stderr: IO[str]) -> None:
        for line in stderr:
            self._stderr.append(line.rstrip())


def _parse_line(line: str) -> dict[str, Any]:
    try:
        report = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PeerFailed(f"the JsSIP peer printed a line that is not JSON: {line!r}") from exc
    if not isinstance(report, dict):
        raise PeerFailed(f"the JsSIP peer printed JSON that is not an object: {line!r}")
    return report


def _require_node() -> str:
    node = node_executable()
    if node is None:
        raise PeerUnavailable("node is not installed")
    return node


def _node_major(node: str) -> int | None:
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _packages_installed() -> bool:
    return all(
        (PEERS_DIR / "node_modules" / name / "package.json").is_file() for name in ("jssip", "ws")
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Register accounts with the JsSIP peer.")
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--realm", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--hold", type=float, default=0.0)
    arguments = parser.parse_args()
    outcome = run_register(
        PeerConfig(
            ws_url=arguments.ws_url,
            realm=arguments.realm,
            password=arguments.password,
            count=arguments.count,
            concurrency=arguments.concurrency,
        ),
        hold_s=arguments.hold,
    )
    print(json.dumps(outcome.raw))
    sys.exit(0 if outcome.failed == 0 else 1)
