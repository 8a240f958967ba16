"""CPython's cyclic garbage collector, tuned for a process holding thousands of accounts.

Why: every account keeps about fifty long-lived objects the collector tracks
(its actor, sockets, transaction table, a suspended coroutine stack), and
almost none of the engine's garbage is cyclic: reference counting frees it
(registering 10,000 accounts left 180 cyclic objects in all). Yet CPython's
collector walks every surviving object again in each older-generation
collection, and while thousands of accounts register the heap keeps growing,
so those collections keep coming.

Two changes, both opt-in (``open_engine(tune_gc=True)``) as they change a
setting of the host program's whole process; the command-line tools turn it on:

- Higher thresholds. Young collections of 10,000 fresh objects instead of 700
  cost the same in total but run less often. Measured registering 5,000
  accounts: the collector took 2.5 s of 11.6 s of CPU (1.9 s in 7 full
  collections); with these thresholds, 0.6 s and no full collection.
- Settled objects are frozen: what survives a young collection moves to the
  permanent generation (``gc.freeze``), which no collection walks. Measured
  registering 10,000 accounts (alternating runs): one generation-1 collection
  of the ~500,000 survivors took 0.31-0.39 s; with freezing there is none, and
  the user CPU per registration fell from 0.35-0.37 ms to 0.30-0.32 ms (the
  walk also evicted the caches the registrations ran in).
- Most young collections are not walked at all: seven in eight freeze their
  generation as it stands, when they start, and so find it empty. Walking a
  young generation finds almost nothing to free (the engine's garbage is
  freed by reference counting) yet reads every new object once more. Timed
  by a gc callback while 10,000 accounts registered, the collector took
  13.5-17 us per registration walking every young collection, 2.4-2.7 us
  walking one in eight. The eighth collection is walked as before and
  measures the cyclic garbage: when it finds ``SAMPLE_GARBAGE_LIMIT`` objects
  or more, the next ``WALKS_AFTER_GARBAGE`` collections are all walked, so a
  program whose own code makes cyclic garbage does not pile it up between
  thaws. A young collection the host asks for (``gc.collect(0)``) follows the
  same rule; ``gc.collect()`` is a full one, left alone.

The price of freezing: a cycle of objects that were alive at a young
collection (or that a skipped one froze unwalked) stays until the next thaw.
``thaw`` runs a full collection over everything and freezes the survivors
again; the engine thaws every ``THAW_MIN_INTERVAL`` seconds, or less often
when a full collection takes so long that it would cost more than
``THAW_CPU_SHARE`` of a core. A host that froze objects itself (a pre-forking
server) keeps its frozen set: then nothing is frozen or thawed here, and only
the thresholds change.

Thresholds are raised, never lowered, on the first entry and restored on the
last exit, so engines may start and stop in any order.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import trio

ENGINE_GC_THRESHOLDS = (10_000, 50, 100)
THAW_MIN_INTERVAL = 120.0
# A full collection took 0.4-0.5 s of CPU with 10,000 accounts registered: one every
# ~4 minutes, which leaves the idle engine's CPU (~3 % of a core) nearly as it was.
THAW_CPU_SHARE = 0.002
SAMPLE_EVERY = 8
"""One young collection in this many is walked; the others freeze their generation unwalked."""
# A walked young generation holds ~10,000 new objects (the threshold); registering
# 10,000 accounts left ~180 cyclic objects in all, a few per walk.
SAMPLE_GARBAGE_LIMIT = 100
WALKS_AFTER_GARBAGE = 64


class _Tuning:
    """The process-wide state: how many engines want tuning, what to restore, and
    which young collections to walk."""

    __slots__ = ("collections", "freezing", "previous", "users", "walking", "walks_owed")

    def __init__(self) -> None:
        self.users = 0
        self.previous = gc.get_threshold()
        self.freezing = False
        self.collections = 0
        self.walking = False
        self.walks_owed = 0


_TUNING = _Tuning()


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    # Called by the collector itself, outside its walk: at "start" nothing has been
    # gathered yet and at "stop" the walk is over, so moving objects to the permanent
    # generation cannot disturb it. Full collections (gc.collect(), thaw) are left alone.
    if info["generation"] == 2:
        return
    tuning = _TUNING
    if phase == "start":
        tuning.collections += 1
        if tuning.walks_owed > 0:
            tuning.walks_owed -= 1
            tuning.walking = True
        elif tuning.collections % SAMPLE_EVERY == 0:
            tuning.walking = True
        else:
            tuning.walking = False
            gc.freeze()
    elif tuning.walking:
        gc.freeze()
        if info["collected"] >= SAMPLE_GARBAGE_LIMIT:
            tuning.walks_owed = WALKS_AFTER_GARBAGE


@contextmanager
def collector_tuned(thresholds: tuple[int, int, int] = ENGINE_GC_THRESHOLDS) -> Iterator[None]:
    """Raise the collector's thresholds (never lower one) and freeze settled objects,
    for the block's duration."""
    tuning = _TUNING
    if tuning.users == 0:
        tuning.previous = gc.get_threshold()
        tuning.freezing = gc.get_freeze_count() == 0
        if tuning.freezing:
            tuning.collections = tuning.walks_owed = 0
            gc.callbacks.append(_on_collection)
    tuning.users += 1
    current = gc.get_threshold()
    gc.set_threshold(*(max(now, wanted) for now, wanted in zip(current, thresholds, strict=True)))
    try:
        yield
    finally:
        tuning.users -= 1
        if tuning.users == 0:
            if tuning.freezing:
                gc.callbacks.remove(_on_collection)
                gc.unfreeze()
                tuning.freezing = False
            gc.set_threshold(*tuning.previous)


def thaw() -> float:
    """Collect every generation, frozen objects included, and freeze the survivors again.

    Returns the seconds it took (0.0 when nothing is frozen here, or the host
    disabled the collector).
    """
    if not _TUNING.freezing or not gc.isenabled():
        return 0.0
    began = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - began


async def thaw_periodically() -> None:
    """Thaw every ``THAW_MIN_INTERVAL`` s, or as often as ``THAW_CPU_SHARE`` allows."""
    interval = THAW_MIN_INTERVAL
    while True:
        await trio.sleep(interval)
        interval = max(THAW_MIN_INTERVAL, thaw() / THAW_CPU_SHARE)
