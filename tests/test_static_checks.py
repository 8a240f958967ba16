"""The project promises ruff and mypy clean: run both as the repository's own configuration says.

Each tool runs from the repository root with this interpreter (the venv that
scripts/bootstrap.sh installs '.[dev]' into), so the versions checked are the ones
pinned for development. mypy reads [tool.mypy] in pyproject.toml, which lists every
package, bench/ and tests/, and keeps its incremental cache in .mypy_cache: a cold
run takes about 15 s here, a warm one under a second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECKS = {
    "ruff check": ["ruff", "check", "."],
    "ruff format": ["ruff", "format", "--check", "."],
    "mypy": ["mypy"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_the_tool_reports_no_problem(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *CHECKS[name]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}{result.stderr}"
