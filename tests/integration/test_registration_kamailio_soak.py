"""The soak tool against a real Kamailio: every report field, and its exit status rules."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from kazoo_actors.cli import soak
from kazoo_actors.cli.main import main as cli_main
from kazoo_actors.lab.kamailio import KamailioServer

pytestmark = pytest.mark.kamailio


def _args(server: KamailioServer, **changes: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "ws_url": server.ws_url,
        "realm": server.realm,
        "password": server.password,
        "accounts": 30,
        "user_template": "soak{i}",
        "duration": 2.0,
        "concurrency": 5,
        "expires": 600,
        "register_timeout": 30.0,
        "report": None,
        "no_verify_tls": False,
    }
    values.update(changes)
    return argparse.Namespace(**values)


async def test_soak_report_has_every_field(kamailio: KamailioServer) -> None:
    report = await soak.run_soak(_args(kamailio))
    assert set(report) == {
        "accounts",
        "registered",
        "failed",
        "registrations_per_s",
        "register_latency_ms",
        "errors",
        "notifications",
        "reconnects",
        "lost_registrations",
        "peak_rss_mb",
        "cpu_s",
        "duration_s",
    }
    assert (report["accounts"], report["registered"], report["failed"]) == (30, 30, 0)
    assert report["lost_registrations"] == 0 and report["reconnects"] == 0
    latency = report["register_latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] < 5000
    assert report["registrations_per_s"] > 0
    assert report["duration_s"] >= 2.0
    assert report["errors"] == {} and report["notifications"] == {}


async def test_soak_with_a_wrong_password_fails(kamailio: KamailioServer) -> None:
    report = await soak.run_soak(_args(kamailio, password="wrong", accounts=4, duration=0.0))
    assert (report["registered"], report["failed"]) == (0, 4)
    assert report["errors"] == {"unauthorized": 4}


def test_soak_command_writes_the_report_and_exits_zero(
    kamailio: KamailioServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.json"
    argv = [
        "soak",
        "--ws-url", kamailio.ws_url,
        "--realm", kamailio.realm,
        "--password", kamailio.password,
        "--accounts", "10",
        "--duration", "1",
        "--report", str(path),
    ]  # fmt: skip
    assert cli_main(argv) == 0
    written = json.loads(path.read_text())
    assert written["registered"] == 10
    assert json.loads(capsys.readouterr().out) == written
    argv[argv.index("--password") + 1] = "wrong"
    assert cli_main(argv) == 1
