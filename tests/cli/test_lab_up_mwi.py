"""``kazoo-actors lab up --mwi``: Kamailio and a voicemail notifier, both stopped by ``lab down``.

The lab is started the way a person does it, through the command line in a child process;
an engine account subscribing to its voicemail then hears the notifier through Kamailio.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil
import pytest
import trio

from kazoo_actors.engine import open_engine
from kazoo_actors.lab.detached import LabState, read_state
from kazoo_actors.lab.mwi_notifier_process import MODULE
from kazoo_actors.lab.ports import pick_free_ports
from kazoo_actors.params import RegisterParams

pytestmark = pytest.mark.kamailio

CLI_SECONDS = 30.0
LAB_RUN_DIRS = os.path.join(os.path.realpath(tempfile.gettempdir()), "kazoo-kamailio-")


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kazoo_actors", "lab", *args],
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
        check=False,
    )


def _processes_in(run_dir: str) -> list[int]:
    """Every live process started for the lab in ``run_dir`` (Kamailio's workers too)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.cwd() == run_dir or any(run_dir in arg for arg in process.cmdline()):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _lab_notifiers() -> set[int]:
    """Notifier processes running in some lab run directory (any test's)."""
    found = set()
    for process in psutil.process_iter():
        try:
            if MODULE in process.cmdline() and process.cwd().startswith(LAB_RUN_DIRS):
                found.add(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _udp_port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _first_voicemail(lab: dict[str, Any], user: str) -> dict[str, Any]:
    params = RegisterParams(
        ws_url=lab["ws_url"],
        realm=lab["realm"],
        private_identity=user,
        public_identity=user,
        password=lab["password"],
        monitor_connectivity=False,
        subscribe_voicemail=True,
    )
    keys = []
    async with open_engine() as engine:
        account = await engine.register(params)
        with trio.move_on_after(20):
            async for event in account.events():
                keys.append(event.key)
                if event.key == "voicemail_notification":
                    with trio.fail_after(10):
                        await account.logout()
                    return event.as_dict()
    raise AssertionError(f"no voicemail_notification within 20 s; the account saw {keys}")


async def test_lab_up_mwi_serves_voicemail_subscriptions_and_lab_down_stops_both(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "lab.json"
    up = _lab("up", "--mwi", "--mwi-new", "2", "--mwi-old", "5", "--state-file", str(state_file))
    assert up.returncode == 0, up.stderr
    lab = json.loads(up.stdout)
    try:
        assert read_state(state_file) == LabState(**lab)
        host, port = lab["mwi_server"].split(":")
        assert host == "127.0.0.1" and not _udp_port_is_free(int(port))
        assert set(_processes_in(lab["run_dir"])) >= {lab["pid"], lab["mwi_pid"]}

        voicemail = await _first_voicemail(lab, "vince")
        assert voicemail["messages_waiting"] is True
        assert (voicemail["new_messages"], voicemail["old_messages"]) == (2, 5)
    finally:
        down = _lab("down", "--state-file", str(state_file))
    assert down.returncode == 0, down.stderr
    assert f"stopped mwi notifier pid {lab['mwi_pid']}" in down.stderr
    assert _processes_in(lab["run_dir"]) == []
    assert not Path(lab["run_dir"]).exists() and not state_file.exists()
    assert _udp_port_is_free(int(port))


async def test_lab_up_without_mwi_records_no_notifier(tmp_path: Path) -> None:
    state_file = tmp_path / "lab.json"
    up = _lab("up", "--state-file", str(state_file))
    assert up.returncode == 0, up.stderr
    lab = json.loads(up.stdout)
    try:
        assert (lab["mwi_server"], lab["mwi_pid"]) == (None, None)
        assert "#!define WITH_MWI" not in (Path(lab["run_dir"]) / "kamailio.cfg").read_text()
    finally:
        down = _lab("down", "--state-file", str(state_file))
    assert down.returncode == 0, down.stderr
    assert "mwi notifier" not in down.stderr
    assert _processes_in(lab["run_dir"]) == []


def test_a_kamailio_that_cannot_start_takes_its_notifier_down(tmp_path: Path) -> None:
    state_file = tmp_path / "lab.json"
    sip_port, ws_port = pick_free_ports(2)
    before = _lab_notifiers()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", sip_port))
        up = _lab(
            "up", "--mwi", "--sip-port", str(sip_port), "--ws-port", str(ws_port),
            "--state-file", str(state_file),
        )  # fmt: skip
    assert up.returncode == 1
    failed_config = re.search(r"config (\S+)/kamailio\.cfg", up.stderr)
    assert failed_config is not None, up.stderr
    assert not Path(failed_config.group(1)).exists()
    assert not state_file.exists()
    assert _lab_notifiers() <= before


def test_mailbox_counts_need_mwi(tmp_path: Path) -> None:
    up = _lab("up", "--mwi-new", "1", "--state-file", str(tmp_path / "lab.json"))
    assert up.returncode == 1
    assert "--mwi-new and --mwi-old need --mwi" in up.stderr
    assert not (tmp_path / "lab.json").exists()


def test_a_state_file_from_before_mwi_still_reads(tmp_path: Path) -> None:
    state_file = tmp_path / "lab.json"
    old = {
        "ws_url": "ws://127.0.0.1:1", "realm": "kazoo.test", "password": "pw", "udp_port": 2,
        "tcp_port": 2, "ws_port": 1, "pid": 1, "run_dir": str(tmp_path / "gone"),
    }  # fmt: skip
    state_file.write_text(json.dumps(old))
    state = read_state(state_file)
    assert state is not None and (state.mwi_server, state.mwi_pid) == (None, None)
