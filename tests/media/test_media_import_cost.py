"""aiortc and av load with the first media session, not with the modules that name media types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEDIA_STACK = ("aiortc", "aioice", "av", "pylibsrtp")

CHECK = """
import sys
import MODULES

def loaded():
    return sorted({name.partition(".")[0] for name in sys.modules} & set(MEDIA_STACK))

assert loaded() == [], loaded()
THEN
"""

FIRST_SESSION = """
import trio
from media.session import MediaSession

async def main():
    async with MediaSession():
        pass

trio.run(main)
assert "aiortc" in loaded() and "av" in loaded(), loaded()
"""


def run_check(modules: str, then: str = "") -> None:
    code = (
        CHECK.replace("MODULES", modules)
        .replace("MEDIA_STACK", repr(MEDIA_STACK))
        .replace("THEN", then)
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_registration_programs_do_not_load_the_media_stack() -> None:
    run_check("kazoo_actors.account, kazoo_actors.engine")


def test_the_media_types_load_it_only_when_a_session_is_built() -> None:
    run_check(
        "media.session, media.sources, media.sinks, media.probe, media.options, media.pcm",
        then=FIRST_SESSION,
    )
