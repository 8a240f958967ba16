"""The layering of DESIGN.md, checked on the import graph of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "protocols": {
        "trio",
        "trio_websocket",
        "asyncio",
        "anyio",
        "aiortc",
        "av",
        "kazoo_actors",
        "media",
        "attrs",
        "socket",
        "selectors",
        "threading",
        "time",
    },
    "media": {"protocols.sip", "kazoo_actors", "trio_asyncio"},
}
ASYNCIO_ALLOWED = {"media/bridge.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def matches(module: str, banned: str) -> bool:
    return module == banned or module.startswith(banned + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upward(package: str) -> None:
    offenders = []
    for path in python_files(package):
        for module in imported_modules(path):
            if any(matches(module, banned) for banned in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_only_the_media_bridge_imports_asyncio() -> None:
    offenders = []
    for package in ("kazoo_actors", "media", "protocols"):
        for path in python_files(package):
            rel = str(path.relative_to(ROOT))
            if rel in ASYNCIO_ALLOWED:
                continue
            if any(matches(m, "asyncio") for m in imported_modules(path)):
                offenders.append(rel)
    assert offenders == []


def test_nothing_imports_the_engine_from_below() -> None:
    for package in ("protocols", "media"):
        for path in python_files(package):
            assert not any(matches(m, "kazoo_actors") for m in imported_modules(path)), path


def test_the_public_api_is_exported_and_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kazoo_actors as k\n"
        "assert 'trio' not in sys.modules, 'import kazoo_actors must stay light'\n"
        "assert set(k.__all__) - {'__version__'} == set(k._EXPORTS)\n"
        "for name in k._EXPORTS: getattr(k, name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
