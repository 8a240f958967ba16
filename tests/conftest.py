"""Fixtures shared across the test tree."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from kazoo_actors.lab.config import KamailioSettings
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.mwi_notifier import MwiNotifier, open_mwi_notifier

KamailioFactory = Callable[..., KamailioServer]

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _load_build_setup() -> ModuleType:
    """The project's setup.py as a module, without building anything (loaded once)."""
    spec = importlib.util.spec_from_file_location("kazoo_actors_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_setup() -> ModuleType:
    """setup.py: which modules mypyc compiles, and whether the compiled ones match."""
    return _load_build_setup()


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = _load_build_setup().compiled_build_problems()
    if problems:
        pytest.exit(
            "the compiled modules do not match the sources Python would otherwise run "
            "(each line says what to do):\n"
            + "".join(f"  {problem}\n" for problem in problems)
            + "to rebuild: `.venv/bin/python -m pip install --no-build-isolation --no-deps -e .` "
            "(or `.venv/bin/python setup.py build_ext --inplace`, or sh scripts/bootstrap.sh)",
            returncode=4,
        )


@pytest.fixture
def kamailio_factory(request: pytest.FixtureRequest) -> Iterator[KamailioFactory]:
    """Starts lab Kamailios with custom settings, e.g. ``kamailio_factory(min_expires=60)``.

    Every server started here is stopped (and its run directory removed) after the test;
    a failing test shows each server's log tail in its report.
    """
    servers: list[KamailioServer] = []

    def start(settings: KamailioSettings | None = None, **changes: Any) -> KamailioServer:
        server = KamailioServer(attrs.evolve(settings or KamailioSettings(), **changes))
        servers.append(server)
        server.start()
        return server

    yield start
    for index, server in enumerate(servers):
        request.node.add_report_section("teardown", f"kamailio {index} log", server.log_tail(80))
        server.close()


@pytest.fixture
def kamailio(kamailio_factory: KamailioFactory) -> KamailioServer:
    """A started lab Kamailio with default settings (about 50 ms to start)."""
    return kamailio_factory()


@pytest.fixture
async def mwi_notifier() -> AsyncIterator[MwiNotifier]:
    """A voicemail (message-summary) notifier on a free UDP port of 127.0.0.1."""
    async with open_mwi_notifier() as notifier:
        yield notifier


@pytest.fixture
async def kamailio_with_mwi(
    kamailio_factory: KamailioFactory, mwi_notifier: MwiNotifier
) -> KamailioServer:
    """A lab Kamailio relaying local users' message-summary SUBSCRIBEs to ``mwi_notifier``."""
    return kamailio_factory(mwi_server=mwi_notifier.server)
