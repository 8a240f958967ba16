"""Compiles the sans-IO SIP core (protocols/sip) and the engine's synchronous,
per-account modules to C with mypyc, when it can.

Why: an engine holding thousands of accounts spends most of its CPU in Python
code that parses, checks and builds SIP messages and steps transactions. That
code is fully typed, so mypyc compiles it as it stands; registering and logging
out an account then costs ~14 % fewer instructions (bench/engine_instructions.py)
and ~6 % less CPU time (the rest of that time is the kernel's socket work).
The compiled modules behave as the source does and the source stays the truth:
without a C compiler, or with KAZOO_ACTORS_PURE_PYTHON=1, the same package is
installed as plain Python, only slower.

mypyc type-checks what it compiles against the installed packages (trio, attrs,
sipmessage, ...), so build without build isolation once they are installed, as
scripts/bootstrap.sh does: ``pip install --no-build-isolation --no-deps -e .``.
An isolated build (no mypyc there) installs plain Python. In an editable install
the compiled modules are put beside their sources and are imported instead of
them: after changing a compiled file, build again (tests/conftest.py refuses to
run against a compiled module older than its source).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent

INTERPRETED = {
    # Package initialisers only re-export.
    "__init__.py",
    # Subclasses of sipmessage's frozen dataclass URI: mypyc cannot compile a
    # dataclass deriving from an interpreted one.
    "header_values.py",
}


ENGINE_MODULES = (
    # Synchronous modules of the engine that every account runs through, kept here only
    # where bench/engine_instructions.py showed fewer instructions per account compiled.
    # Only modules without coroutines qualify: Trio must never be handed a
    # mypyc-compiled coroutine, so the actors' tasks (account.py, transport.py,
    # supervisor.py, ...) stay interpreted.
    "kazoo_actors/params.py",
    "kazoo_actors/actors/registration.py",
    "kazoo_actors/actors/sip_endpoint.py",
    # Measured and left interpreted, as compiling them lowered nothing beyond the
    # measurement's run-to-run spread (~0.5 %): websocket_frames.py (its work is C calls
    # already), events.py, shared_challenges.py, actors/account_state.py and
    # actors/restart_decision.py (attrs classes and enums, used from interpreted code).
    # actors/child_spec.py cannot be compiled as it stands: its attrs.field defaults,
    # converters and validators fail mypyc's type check at import (python/mypy#15267).
)

COMPILED_PACKAGES = ("protocols", "kazoo_actors")
"""Where compiled modules may sit beside their sources."""


def compiled_sources() -> list[str]:
    """Every module mypyc compiles: protocols/sip but INTERPRETED, and ENGINE_MODULES."""
    core = (
        str(path.relative_to(ROOT))
        for path in (ROOT / "protocols" / "sip").glob("*.py")
        if path.name not in INTERPRETED
    )
    return sorted((*core, *ENGINE_MODULES))


def stale_compiled_modules(root: Path = ROOT) -> list[str]:
    """Sources newer than their compiled module: Python would still run the old code."""
    stale = []
    compiled_modules = (
        compiled for package in COMPILED_PACKAGES for compiled in (root / package).rglob("*.so")
    )
    for compiled in sorted(compiled_modules):
        source = compiled.with_name(compiled.name.partition(".")[0] + ".py")
        if source.exists() and source.stat().st_mtime > _built_at(compiled, root):
            stale.append(str(source.relative_to(root)))
    return stale


_GROUP_LIBRARY = re.compile(rb"(\w+__mypyc)\.init_")


def _built_at(compiled: Path, root: Path) -> float:
    """When the code of a compiled module was built. mypyc puts it in one library for
    all modules (``<hash>__mypyc...so`` at the top), which the module's own small .so
    loads: a rebuild after an edit renews that library and leaves the module's .so as
    it was, so the newer of the two counts."""
    built = compiled.stat().st_mtime
    group = _GROUP_LIBRARY.search(compiled.read_bytes())
    if group is not None:
        for library in root.glob(group.group(1).decode("ascii") + ".*.so"):
            built = max(built, library.stat().st_mtime)
    return built


class OptionalBuildExt(build_ext):  # type: ignore[misc]  # untyped: no setuptools stubs here
    """Falls back to the pure-Python package when the C build fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # a missing compiler or header is not the user's fault
            print(f"kazoo-actors: mypyc build failed, pure Python kept: {error}", file=sys.stderr)


def ext_modules() -> list[object]:
    if os.environ.get("KAZOO_ACTORS_PURE_PYTHON") == "1":
        return []
    try:
        from mypyc.build import mypycify

        return list(mypycify(compiled_sources(), opt_level="3"))
    except (Exception, SystemExit) as error:  # mypyc exits on a type error
        print(f"kazoo-actors: mypyc failed, pure Python kept: {error}", file=sys.stderr)
        return []


if __name__ == "__main__":  # as setuptools runs it; tests import the lists above
    setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
