"""The SIP core runs compiled by mypyc (setup.py) unless pure Python was asked for,
and a compiled module older than its source is found (the test run refuses it)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest

import protocols.sip


@pytest.mark.skipif(
    os.environ.get("KAZOO_ACTORS_PURE_PYTHON") == "1", reason="pure Python was asked for"
)
def test_every_listed_module_is_compiled(build_setup: ModuleType) -> None:
    sources = build_setup.compiled_sources()
    assert "protocols/sip/registration.py" in sources
    for source in sources:
        module = importlib.import_module(source.removesuffix(".py").replace("/", "."))
        assert module.__file__ is not None and module.__file__.endswith(".so"), source
    for name in build_setup.INTERPRETED - {"__init__.py"}:
        module = importlib.import_module(f"protocols.sip.{name.removesuffix('.py')}")
        assert module.__file__ is not None and module.__file__.endswith(".py"), name
    assert protocols.sip.__file__ is not None and protocols.sip.__file__.endswith(".py")


def test_a_compiled_module_older_than_its_source_is_stale(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    package = tmp_path / "protocols" / "sip"
    package.mkdir(parents=True)
    for name, compiled_first in (("fresh", False), ("edited", True)):
        source = package / f"{name}.py"
        compiled = package / f"{name}.cpython-311-x86_64-linux-gnu.so"
        source.write_text("")
        compiled.write_bytes(b"")
        older, newer = (compiled, source) if compiled_first else (source, compiled)
        os.utime(older, (1_000_000, 1_000_000))
        os.utime(newer, (2_000_000, 2_000_000))
    (package / "orphan.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert build_setup.stale_compiled_modules(tmp_path) == ["protocols/sip/edited.py"]
