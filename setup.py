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
them: after changing a compiled file, build again. Each in-place build records
the contents it compiled (BUILD_RECORD); tests/conftest.py refuses to run when a
source no longer matches, or a compiled module is left from an earlier build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import ClassVar

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


def compiled_sources(root: Path = ROOT) -> list[str]:
    """Every module mypyc compiles: protocols/sip but INTERPRETED, and ENGINE_MODULES."""
    core = (
        str(path.relative_to(root))
        for path in (root / "protocols" / "sip").glob("*.py")
        if path.name not in INTERPRETED
    )
    return sorted((*core, *ENGINE_MODULES))


BUILD_RECORD = "compiled-modules.json"
"""What the last in-place build compiled, beside the shared library it wrote (gitignored):
the SHA-256 of each compiled source as read before mypyc read it, and of each compiled
file the build put in the tree. Contents, not modification times: a source edited while
a build runs can be older than the compiled files, yet they hold its previous text."""

SHARED_LIBRARY = re.compile(r"[0-9a-f]{20}__mypyc\.")
"""mypyc's library holding the code of all compiled modules, named after a hash of their
names (mypyc.build.group_name): a different set of modules gets a new name."""


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compiled_build_problems(root: Path = ROOT) -> list[str]:
    """Why Python would not run the sources as they are: compiled modules built from other
    text, missing or replaced since their build, or left from modules no longer compiled.
    Each line names a file and what to do. Runs at every test session start (~15 ms)."""
    compiled_files = sorted(
        str(path.relative_to(root))
        for package in COMPILED_PACKAGES
        for path in (root / package).rglob("*.so")
    )
    if not compiled_files:
        return []  # pure Python: no compiled module can stand in for a source
    to_compile = set(compiled_sources(root))
    problems = [
        f"{compiled}: {_source_of(compiled)} is no longer compiled, yet Python imports "
        "this file instead of it: delete it"
        for compiled in compiled_files
        if _source_of(compiled) not in to_compile
    ]
    record = _read_build_record(root)
    if record is None:
        problems.append(
            f"{BUILD_RECORD}: missing or unreadable, so nothing tells which sources the "
            "compiled modules were built from: rebuild"
        )
        return problems
    sources, outputs = record
    problems += [
        f"{source}: listed for compiling, not compiled by the last build: rebuild"
        for source in sorted(to_compile - sources.keys())
    ]
    problems += [
        f"{source}: changed since it was compiled: rebuild"
        for source, digest in sorted(sources.items())
        if source in to_compile and _digest_if_present(root / source) != digest
    ]
    problems += [
        f"{output}: missing or changed since the last build wrote it: rebuild"
        for output, digest in sorted(outputs.items())
        # The compiled file of a module no longer compiled may go (it should, see above).
        if (SHARED_LIBRARY.match(output) or _source_of(output) in to_compile)
        and _digest_if_present(root / output) != digest
    ]
    problems += [
        f"{compiled}: not written by the last build: rebuild"
        for compiled in compiled_files
        if compiled not in outputs and _source_of(compiled) in to_compile
    ]
    return problems


def _source_of(compiled: str) -> str:
    """protocols/sip/via.cpython-311-x86_64-linux-gnu.so -> protocols/sip/via.py"""
    path = Path(compiled)
    return str(path.with_name(path.name.partition(".")[0] + ".py"))


def _digest_if_present(path: Path) -> str | None:
    return file_digest(path) if path.is_file() else None


def _read_build_record(root: Path) -> tuple[dict[str, str], dict[str, str]] | None:
    """The sources and the compiled files of the last in-place build, by digest."""
    try:
        record = json.loads((root / BUILD_RECORD).read_text())
        sources, outputs = record["sources"], record["outputs"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not all(
        isinstance(table, dict) and all(isinstance(value, str) for value in table.values())
        for table in (sources, outputs)
    ):
        return None
    return sources, outputs


def write_build_record(root: Path, source_digests: dict[str, str], outputs: list[str]) -> None:
    """Records an in-place build: the digests of its sources (taken before mypyc read
    them) and of the compiled files it wrote, paths relative to root."""
    record = {
        "written_by": "setup.py build_ext --inplace (or pip install -e .); checked by "
        "setup.py compiled_build_problems at every test session start",
        "sources": dict(sorted(source_digests.items())),
        "outputs": {output: file_digest(root / output) for output in sorted(outputs)},
    }
    partial = root / (BUILD_RECORD + ".partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    partial.replace(root / BUILD_RECORD)  # whole or not at all, even if the build is killed


def leftover_shared_libraries(root: Path, current: str) -> list[Path]:
    """mypyc libraries at root from earlier sets of compiled modules (another hash, the
    same Python): no compiled module loads them any more. Nothing else matches."""
    suffix = current.partition(".")[2]
    leftover = re.compile(SHARED_LIBRARY.pattern + re.escape(suffix))
    return sorted(
        path
        for path in root.glob(f"*__mypyc.{suffix}")
        if path.name != current and leftover.fullmatch(path.name)
    )


def finish_in_place_build(root: Path, source_digests: dict[str, str], outputs: list[str]) -> None:
    """After a build wrote its compiled files into the tree: records it, and removes the
    shared libraries of earlier module sets."""
    write_build_record(root, source_digests, outputs)
    for output in outputs:
        if SHARED_LIBRARY.match(output):
            for leftover in leftover_shared_libraries(root, output):
                print(f"kazoo-actors: removing {leftover.name} (from an earlier module set)")
                leftover.unlink()


NOT_COMPILED = (
    "kazoo-actors: this build compiled nothing. The sources run as plain Python unless an "
    "earlier build left compiled modules beside them: the test run names those (rebuild or "
    "delete them)."
)


class RecordingBuildExt(build_ext):  # type: ignore[misc]  # untyped: no setuptools stubs here
    """Builds the compiled modules, falling back to the pure-Python package when the C
    build fails. An in-place build (``setup.py build_ext --inplace``, or the editable
    install scripts/bootstrap.sh runs) then records what it built (BUILD_RECORD) and
    removes the shared libraries of earlier module sets."""

    source_digests: ClassVar[dict[str, str]] = {}
    """The compiled sources' digests, set by main() before mypyc reads the sources."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # a missing compiler or header is not the user's fault
            print(f"kazoo-actors: mypyc build failed: {error}\n{NOT_COMPILED}", file=sys.stderr)
            return
        if self.inplace:  # a build elsewhere (a wheel) leaves the tree as it was
            outputs = [self.get_ext_filename(extension.name) for extension in self.extensions]
            finish_in_place_build(ROOT, self.source_digests, outputs)


def ext_modules(sources: list[str]) -> list[object]:
    if os.environ.get("KAZOO_ACTORS_PURE_PYTHON") == "1":
        return []
    try:
        from mypyc.build import mypycify

        return list(mypycify(sources, opt_level="3"))
    except (Exception, SystemExit) as error:  # mypyc exits on a type error
        print(f"kazoo-actors: mypyc failed: {error}\n{NOT_COMPILED}", file=sys.stderr)
        return []


def main() -> None:
    sources = compiled_sources()
    # Read before mypyc reads them: a source edited from here on no longer matches the
    # record, whether mypyc compiled the old text or the new.
    RecordingBuildExt.source_digests = {source: file_digest(ROOT / source) for source in sources}
    setup(ext_modules=ext_modules(sources), cmdclass={"build_ext": RecordingBuildExt})


if __name__ == "__main__":  # as setuptools runs it; tests import the functions above
    main()
