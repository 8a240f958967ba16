"""The SIP core and the engine's listed modules run compiled by mypyc (setup.py) unless
pure Python was asked for, and a compiled module older than its source is found (the
test run refuses it)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import kazoo_actors
import kazoo_actors.actors
import protocols.sip

SHARED_LIBRARY = "0123abcd__mypyc.cpython-311-x86_64-linux-gnu.so"
SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


def test_every_listed_module_is_compiled_unless_pure_python_was_asked_for(
    build_setup: ModuleType,
) -> None:
    sources = build_setup.compiled_sources()
    assert "protocols/sip/registration.py" in sources
    assert set(build_setup.ENGINE_MODULES) <= set(sources)
    suffix = ".py" if os.environ.get("KAZOO_ACTORS_PURE_PYTHON") == "1" else ".so"
    for source in sources:
        module = importlib.import_module(source.removesuffix(".py").replace("/", "."))
        assert module.__file__ is not None and module.__file__.endswith(suffix), source
    for name in build_setup.INTERPRETED - {"__init__.py"}:
        module = importlib.import_module(f"protocols.sip.{name.removesuffix('.py')}")
        assert module.__file__ is not None and module.__file__.endswith(".py"), name
    for package in (protocols.sip, kazoo_actors, kazoo_actors.actors):
        assert package.__file__ is not None and package.__file__.endswith(".py")


def test_engine_modules_listed_for_compiling_hold_no_coroutine(build_setup: ModuleType) -> None:
    """Trio must never be handed a mypyc-compiled coroutine."""
    root = Path(build_setup.ROOT)
    for source in build_setup.ENGINE_MODULES:
        text = (root / source).read_text()
        assert "async def" not in text and "await " not in text, source


def _write(path: Path, content: bytes, mtime: int) -> None:
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))


def test_a_compiled_module_older_than_its_source_is_stale(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    for package_path in ("protocols/sip", "kazoo_actors/actors"):
        package = tmp_path / package_path
        package.mkdir(parents=True)
        for name, compiled_first in (("fresh", False), ("edited", True)):
            older, newer = (1_000_000, 2_000_000) if compiled_first else (2_000_000, 1_000_000)
            _write(package / f"{name}.py", b"", newer)
            _write(package / f"{name}{SUFFIX}", b"", older)
        (package / f"orphan{SUFFIX}").write_bytes(b"")
    assert build_setup.stale_compiled_modules(tmp_path) == [
        "kazoo_actors/actors/edited.py",
        "protocols/sip/edited.py",
    ]


def test_a_rebuilt_shared_library_makes_its_modules_fresh(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    """A rebuild renews mypyc's shared library, not the small .so of each module."""
    package = tmp_path / "kazoo_actors"
    package.mkdir()
    loads_library = b"\x00" + SHARED_LIBRARY.partition(".")[0].encode() + b".init_kazoo_actors"
    _write(package / "params.py", b"", 2_000_000)
    _write(package / f"params{SUFFIX}", loads_library, 1_000_000)
    _write(tmp_path / SHARED_LIBRARY, b"", 1_500_000)
    assert build_setup.stale_compiled_modules(tmp_path) == ["kazoo_actors/params.py"]
    _write(tmp_path / SHARED_LIBRARY, b"", 3_000_000)
    assert build_setup.stale_compiled_modules(tmp_path) == []
