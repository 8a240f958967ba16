"""The engine raises CPython's collector thresholds while it runs and restores them after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kazoo_actors.engine import open_engine
from kazoo_actors.gc_tuning import ENGINE_GC_THRESHOLDS, collector_tuned


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)


async def test_tune_gc_raises_the_thresholds_and_restores_them(
    default_thresholds: tuple[int, int, int],
) -> None:
    async with open_engine(monitor_connectivity=False, tune_gc=True):
        assert gc.get_threshold() == ENGINE_GC_THRESHOLDS
    assert gc.get_threshold() == default_thresholds


async def test_by_default_the_host_settings_are_left_alone(
    default_thresholds: tuple[int, int, int],
) -> None:
    async with open_engine(monitor_connectivity=False):
        assert gc.get_threshold() == default_thresholds


def test_a_higher_host_threshold_is_never_lowered(default_thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(50_000, 5, 500)
    with collector_tuned((10_000, 50, 100)):
        assert gc.get_threshold() == (50_000, 50, 500)
    assert gc.get_threshold() == (50_000, 5, 500)
