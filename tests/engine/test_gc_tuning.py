"""The engine tunes CPython's collector while it runs (thresholds, frozen survivors, thaws)
and restores it after."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
import trio
import trio.testing

from kazoo_actors import gc_tuning
from kazoo_actors.engine import open_engine
from kazoo_actors.gc_tuning import (
    ENGINE_GC_THRESHOLDS,
    SAMPLE_EVERY,
    SAMPLE_GARBAGE_LIMIT,
    THAW_CPU_SHARE,
    THAW_MIN_INTERVAL,
    WALKS_AFTER_GARBAGE,
    _on_collection,
    collector_tuned,
    thaw,
)


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


class _Node:
    """A cyclic object the collector tracks: reference counting alone never frees it."""

    def __init__(self) -> None:
        self.me = self


def test_young_survivors_are_frozen_and_released_on_exit(
    default_thresholds: tuple[int, int, int],
) -> None:
    with collector_tuned():
        survivor = _Node()
        gc.collect(0)
        assert gc.get_freeze_count() > 0
        # Tracked, but in no generation: in the permanent one, which no collection walks.
        assert gc.is_tracked(survivor)
        assert not any(found is survivor for found in gc.get_objects())
    assert gc.get_freeze_count() == 0
    assert _on_collection not in gc.callbacks
    assert gc.get_threshold() == default_thresholds


def _young_collections(count: int) -> None:
    for _ in range(count):
        gc.collect(0)


def test_young_collections_between_samples_freeze_without_walking() -> None:
    with collector_tuned():
        node = _Node()
        gone = weakref.ref(node)
        del node
        gc.collect(0)  # the first of SAMPLE_EVERY: not walked, the garbage cycle is frozen
        assert gone() is not None
        _young_collections(SAMPLE_EVERY - 1)  # the sample walks only what came since
        assert gone() is not None
        assert thaw() > 0.0
        assert gone() is None


def test_every_sample_walks_its_generation_and_frees_its_cycles() -> None:
    with collector_tuned():
        _young_collections(SAMPLE_EVERY - 1)
        node = _Node()
        gone = weakref.ref(node)
        del node
        gc.collect(0)  # a sample
        assert gone() is None


def test_a_sample_full_of_cycles_has_the_next_collections_walked() -> None:
    with collector_tuned():
        _young_collections(SAMPLE_EVERY - 1)
        garbage = [_Node() for _ in range(SAMPLE_GARBAGE_LIMIT)]
        del garbage
        gc.collect(0)  # a sample that finds the limit: the next ones are walked
        for _ in range(WALKS_AFTER_GARBAGE):
            node = _Node()
            gone = weakref.ref(node)
            del node
            gc.collect(0)
            assert gone() is None
        node = _Node()
        gone = weakref.ref(node)
        del node
        gc.collect(0)  # walks owed are done, and this one is no sample
        assert gone() is not None
        thaw()


def test_a_program_making_cyclic_garbage_does_not_pile_it_up_frozen(
    default_thresholds: tuple[int, int, int],
) -> None:
    young = ENGINE_GC_THRESHOLDS[0]
    with collector_tuned():
        gc.collect(0)  # freezes what the process held before, as any first collection would
        frozen_before = gc.get_freeze_count()
        for _ in range(60 * young):  # ~60 automatic young collections' worth
            _Node()
        piled = gc.get_freeze_count() - frozen_before
    # Before the first sample finds them, SAMPLE_EVERY - 2 more generations of cycles are
    # frozen unwalked; after it, every collection is walked while cycles keep coming.
    assert piled < SAMPLE_EVERY * young


def test_thaw_collects_a_frozen_cycle_that_became_garbage() -> None:
    with collector_tuned():
        node = _Node()
        gc.collect(0)  # node is alive: frozen
        gone = weakref.ref(node)
        del node
        gc.collect()  # a collection never looks at frozen objects
        assert gone() is not None
        assert thaw() > 0.0
        assert gone() is None
        assert gc.get_freeze_count() > 0  # the survivors are frozen again


def test_a_host_that_froze_objects_keeps_its_frozen_set(
    default_thresholds: tuple[int, int, int],
) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_tuned():
            assert _on_collection not in gc.callbacks
            assert gc.get_threshold() == ENGINE_GC_THRESHOLDS
            assert thaw() == 0.0
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_engines_may_stop_in_any_order(default_thresholds: tuple[int, int, int]) -> None:
    first, second = collector_tuned(), collector_tuned((20_000, 50, 100))
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold() == (20_000, 50, 100)
    first.__exit__(None, None, None)
    assert gc.get_threshold() == (20_000, 50, 100)
    assert _on_collection in gc.callbacks
    second.__exit__(None, None, None)
    assert gc.get_threshold() == default_thresholds
    assert _on_collection not in gc.callbacks
    assert gc.get_freeze_count() == 0


async def test_thaws_come_at_the_minimum_interval_or_as_rarely_as_their_cost_requires(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap = 0.5 * THAW_MIN_INTERVAL * THAW_CPU_SHARE
    costly = 3 * THAW_MIN_INTERVAL * THAW_CPU_SHARE
    durations = iter([cheap, costly, cheap])
    thawed_at: list[float] = []

    def fake_thaw() -> float:
        thawed_at.append(trio.current_time())
        return next(durations)

    monkeypatch.setattr(gc_tuning, "thaw", fake_thaw)
    start = trio.current_time()
    first = THAW_MIN_INTERVAL
    # After the costly one the pause is its cost over the share: 3 intervals, not 1.
    expected = [first, first + THAW_MIN_INTERVAL, first + THAW_MIN_INTERVAL * 4]
    with trio.move_on_after(expected[-1] + 1.0):
        await gc_tuning.thaw_periodically()
    assert [round(t - start, 6) for t in thawed_at] == expected


async def test_the_engine_thaws_while_it_runs(
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
    default_thresholds: tuple[int, int, int],
) -> None:
    thawed: list[float] = []

    def fake_thaw() -> float:
        thawed.append(trio.current_time())
        return 0.0

    monkeypatch.setattr(gc_tuning, "thaw", fake_thaw)
    async with open_engine(monitor_connectivity=False, tune_gc=True):
        await trio.sleep(THAW_MIN_INTERVAL * 2 + 1)
    assert len(thawed) == 2
