"""The monitor against real link changes, in a network namespace this test creates.

Needs root and unshare(1); the namespace has only what the probe creates (``lo`` and a
veth pair), so nothing on the host is touched, and it disappears with the probe process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("connectivity_netns_probe.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(
        shutil.which("unshare") is None or shutil.which("ip") is None,
        reason="needs unshare(1) and ip(8) (util-linux, iproute2)",
    ),
]


def test_link_down_and_up_in_a_namespace() -> None:
    script = f"mount -t sysfs sysfs /sys && exec {sys.executable} {PROBE}"
    result = subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    seen = [json.loads(line) for line in result.stdout.splitlines()]
    summary = [(s["step"], s["address"], s["status"], s.get("interface")) for s in seen]
    assert summary == [
        # A fresh namespace starts with lo down and no routes at all.
        ("initial", "127.0.0.1", "offline", None),
        ("initial", "10.77.0.2", "offline", None),
        ("lo up", "127.0.0.1", "online", "lo"),
        ("lo down", "127.0.0.1", "offline", "lo"),
        ("lo up again", "127.0.0.1", "online", "lo"),
        ("veth up", "10.77.0.2", "online", "kz0"),
        ("peer down (carrier lost, route kept)", "10.77.0.2", "offline", "kz0"),
        ("peer up", "10.77.0.2", "online", "kz0"),
        ("link down (route removed)", "10.77.0.2", "offline", None),
        ("link up", "10.77.0.2", "online", "kz0"),
    ]
    assert seen[3]["reason"] == "via lo, down"
    assert seen[8]["reason"] == "no route to 10.77.0.2"
