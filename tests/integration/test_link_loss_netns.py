"""Link loss in a network namespace: offline, then online, then registered again.

The engine and Kamailio run together in a private namespace (``unshare -n``)
whose only interface is ``lo``; setting ``lo`` down stalls the connection
without closing it, exactly what a lost link does. A private mount namespace
with a fresh sysfs is needed too: /sys/class/net otherwise shows the host's
interfaces, and the connectivity monitor reads interface state there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kamailio, pytest.mark.netns]

CHILD = Path(__file__).with_name("link_loss_child.py")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
    reason="needs root, unshare and ip to make a network namespace",
)
def test_link_down_then_up_gives_offline_online_and_registers_again() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            "unshare",
            "--net",
            "--mount",
            "sh",
            "-c",
            'mount -t sysfs sysfs /sys && exec "$0" "$1"',
            sys.executable,
            str(CHILD),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    sequence = [r.get("key") or f"link {r['link']}" if "done" not in r else "done" for r in records]
    assert sequence[:3] == ["connected", "link down", "connectivity_notification"]
    offline, online = (r for r in records if r.get("key") == "connectivity_notification")
    assert offline["status"] == "offline"
    assert offline["message"] == "You have lost your connection to the network."
    assert online["status"] == "online"
    assert online["message"] == "You have recovered your connection to the network."
    after_up = sequence[sequence.index("link up") :]
    assert after_up[1:] == [
        "connectivity_notification",
        "reconnecting_notification",
        "connected",
        "done",
    ]
    assert records[-1]["state"] == "registered"
    assert "disconnected" not in sequence  # offline already told the program
