"""Installing the Debian packages the lab needs, when the CLI is allowed to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kazoo_actors.lab.config import DEFAULT_MODULES_DIR
from kazoo_actors.lab.kamailio import KamailioNotInstalled, require_kamailio

PACKAGES = ("kamailio", "kamailio-websocket-modules")


def ensure_kamailio(modules_dir: Path = DEFAULT_MODULES_DIR) -> Path:
    """The kamailio binary, installing the packages first when missing and running as root."""
    try:
        return require_kamailio(modules_dir)
    except KamailioNotInstalled as missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise KamailioNotInstalled(
                f"{missing}; run as root on Debian to let `lab up` install it, "
                f"or run scripts/bootstrap.sh"
            ) from None
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Progress goes to stderr: stdout carries only the JSON that `lab up` prints.
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
    ):
        subprocess.run(command, check=True, env=environment, stdout=sys.stderr)
    return require_kamailio(modules_dir)
