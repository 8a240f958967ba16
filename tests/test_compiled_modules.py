"""The SIP core and the engine's listed modules run compiled by mypyc (setup.py) unless
pure Python was asked for, and a compiled tree that does not match its sources is found
(the test run refuses it): a source changed since its build whatever its modification
time, a missing build record, a compiled module left from a module no longer compiled,
compiled files missing or replaced since the build. An in-place build removes the shared
libraries of earlier module sets, and nothing else."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import kazoo_actors
import kazoo_actors.actors
import protocols.sip

SHARED_LIBRARY = "0123456789abcdef0123__mypyc.cpython-311-x86_64-linux-gnu.so"
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


def _fake_build(build_setup: ModuleType, root: Path, extra_sources: tuple[str, ...] = ()) -> None:
    """A tree as an in-place build leaves it, with fake compiled files (no mypyc here):
    sources, a small .so beside each compiled one, the shared library, the record."""
    for source in ("protocols/sip/__init__.py", "protocols/sip/header_values.py"):
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        (root / source).write_text("")
    for source in ("protocols/sip/via.py", "protocols/sip/dialog.py", *build_setup.ENGINE_MODULES):
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        (root / source).write_text(f"# {source}\n")
    sources = [*build_setup.compiled_sources(root), *extra_sources]
    outputs = [SHARED_LIBRARY, *(source.removesuffix(".py") + SUFFIX for source in sources)]
    for output in outputs:
        (root / output).write_bytes(f"compiled: {output}".encode())
    digests = {source: build_setup.file_digest(root / source) for source in sources}
    build_setup.finish_in_place_build(root, digests, outputs)


def test_a_tree_as_built_and_a_pure_python_tree_have_no_problem(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    _fake_build(build_setup, tmp_path)
    assert (tmp_path / build_setup.BUILD_RECORD).exists()
    assert build_setup.compiled_build_problems(tmp_path) == []
    for compiled in tmp_path.rglob("*.so"):
        compiled.unlink()
    assert build_setup.compiled_build_problems(tmp_path) == []
    (tmp_path / build_setup.BUILD_RECORD).unlink()
    assert build_setup.compiled_build_problems(tmp_path) == []


def test_a_source_changed_since_its_build_is_found_even_with_an_older_mtime(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    """As when a source is edited after mypyc read it, before the .so was written."""
    _fake_build(build_setup, tmp_path)
    edited = tmp_path / "protocols/sip/via.py"
    edited.write_text("# edited during the build\n")
    os.utime(edited, (1_000_000, 1_000_000))
    assert build_setup.compiled_build_problems(tmp_path) == [
        "protocols/sip/via.py: changed since it was compiled: rebuild"
    ]
    # Touching a source without changing it is no change.
    edited.write_text("# protocols/sip/via.py\n")
    os.utime(tmp_path / "kazoo_actors/params.py", (3_000_000_000, 3_000_000_000))
    assert build_setup.compiled_build_problems(tmp_path) == []


def test_compiled_modules_without_a_build_record_are_refused(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    _fake_build(build_setup, tmp_path)
    record = tmp_path / build_setup.BUILD_RECORD
    record.unlink()
    problem = (
        "compiled-modules.json: missing or unreadable, so nothing tells which sources "
        "the compiled modules were built from: rebuild"
    )
    assert build_setup.compiled_build_problems(tmp_path) == [problem]
    for unreadable in ('{"sources": {}', '{"sources": [], "outputs": {}}', '{"outputs": {}}'):
        record.write_text(unreadable)
        assert build_setup.compiled_build_problems(tmp_path) == [problem]


def test_a_compiled_module_of_a_module_no_longer_compiled_must_be_deleted(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    """Python imports a .so before the .py beside it: the module would still run compiled,
    from the text it had at its last build."""
    _fake_build(build_setup, tmp_path, extra_sources=("protocols/sip/header_values.py",))
    leftover = tmp_path / f"protocols/sip/header_values{SUFFIX}"
    assert build_setup.compiled_build_problems(tmp_path) == [
        f"protocols/sip/header_values{SUFFIX}: protocols/sip/header_values.py is no longer "
        "compiled, yet Python imports this file instead of it: delete it"
    ]
    leftover.unlink()
    assert build_setup.compiled_build_problems(tmp_path) == []
    # Found without a record too, with the record's absence.
    leftover.write_bytes(b"")
    (tmp_path / build_setup.BUILD_RECORD).unlink()
    assert len(build_setup.compiled_build_problems(tmp_path)) == 2


def test_compiled_files_missing_or_replaced_since_the_build_are_found(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    """As a build that failed while copying its files into the tree leaves them."""
    _fake_build(build_setup, tmp_path)
    (tmp_path / SHARED_LIBRARY).unlink()
    (tmp_path / f"kazoo_actors/params{SUFFIX}").write_bytes(b"from another build")
    (tmp_path / "protocols/sip/new_module.py").write_text("")
    (tmp_path / f"protocols/sip/new_module{SUFFIX}").write_bytes(b"")
    assert build_setup.compiled_build_problems(tmp_path) == [
        "protocols/sip/new_module.py: listed for compiling, not compiled by the last build: "
        "rebuild",
        f"{SHARED_LIBRARY}: missing or changed since the last build wrote it: rebuild",
        f"kazoo_actors/params{SUFFIX}: missing or changed since the last build wrote it: rebuild",
        f"protocols/sip/new_module{SUFFIX}: not written by the last build: rebuild",
    ]


def test_an_in_place_build_removes_the_shared_libraries_of_earlier_module_sets_only(
    build_setup: ModuleType, tmp_path: Path
) -> None:
    earlier = "fedcba9876543210fedc__mypyc" + SUFFIX
    kept = [
        # Another Python's, which this one never loads.
        "fedcba9876543210fedc__mypyc.cpython-312-x86_64-linux-gnu.so",
        # Not mypyc's hash-named library.
        "fedcba98__mypyc" + SUFFIX,
        "my__mypyc" + SUFFIX,
        earlier + ".bak",
        "notes.txt",
        # Not at the top of the tree.
        "protocols/" + earlier,
    ]
    (tmp_path / "protocols").mkdir()
    for name in (earlier, *kept):
        (tmp_path / name).write_bytes(b"")
    assert build_setup.leftover_shared_libraries(tmp_path, SHARED_LIBRARY) == [tmp_path / earlier]
    _fake_build(build_setup, tmp_path)
    assert not (tmp_path / earlier).exists()
    assert all((tmp_path / name).exists() for name in kept)
    assert (tmp_path / SHARED_LIBRARY).exists()
