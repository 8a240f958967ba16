"""bench_server.wait_until_settled: a peer starts only once the server is idle."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench import bench_server


class _Server:
    """What wait_until_settled reads of a KamailioServer: the pid of its main process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid


@pytest.fixture(autouse=True)
def _no_remove_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_server, "WEBSOCKET_REMOVE_DELAY_S", 0.0)


@pytest.fixture
def idle_process() -> Iterator[int]:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as process:
        yield process.pid
        process.kill()


@pytest.fixture
def busy_process() -> Iterator[int]:
    with subprocess.Popen([sys.executable, "-c", "while True: pass"]) as process:
        yield process.pid
        process.kill()


def test_an_idle_server_is_settled_after_one_look(idle_process: int) -> None:
    waited = bench_server.wait_until_settled(_Server(idle_process), timeout_s=10)  # type: ignore[arg-type]
    assert 0.5 <= waited < 2


def test_a_busy_server_is_waited_for_until_the_timeout(busy_process: int) -> None:
    waited = bench_server.wait_until_settled(_Server(busy_process), timeout_s=2)  # type: ignore[arg-type]
    assert 2 <= waited < 4


def test_the_remove_delay_is_always_waited(
    monkeypatch: pytest.MonkeyPatch, idle_process: int
) -> None:
    monkeypatch.setattr(bench_server, "WEBSOCKET_REMOVE_DELAY_S", 1.0)
    waited = bench_server.wait_until_settled(_Server(idle_process), timeout_s=10)  # type: ignore[arg-type]
    assert waited >= 1.5
