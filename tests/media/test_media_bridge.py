"""The asyncio bridge: results, errors and cancellation cross it; feeds stay bounded."""

from __future__ import annotations

import threading

import pytest
import trio
import trio.testing

from media.bridge import (
    Bridge,
    BridgeClosedError,
    TaskScope,
    TrioCaller,
    TrioFeed,
    aio_create_task,
    aio_current_tick,
    aio_sleep,
    aio_sleep_until_tick,
    aio_time,
    get_bridge,
)


async def test_results_and_exceptions_cross_the_bridge() -> None:
    bridge = get_bridge()

    async def on_loop(x: int) -> tuple[int, str]:
        return x * 2, threading.current_thread().name

    async def fails() -> None:
        raise KeyError("from asyncio")

    assert await bridge.run(on_loop, 21) == (42, "media-bridge")
    with pytest.raises(KeyError, match="from asyncio"):
        await bridge.run(fails)


async def test_cancelling_the_trio_caller_cancels_the_asyncio_side() -> None:
    bridge = get_bridge()
    cancelled = threading.Event()
    finished = threading.Event()

    async def slow() -> None:
        try:
            await aio_sleep(10)
            finished.set()
        except BaseException:
            cancelled.set()
            raise

    with trio.move_on_after(0.1) as scope:
        await bridge.run(slow)
    assert scope.cancelled_caught
    # The caller only returned once the asyncio task had unwound.
    assert cancelled.is_set()
    assert not finished.is_set()


async def test_a_coroutine_that_finishes_despite_cancel_still_returns() -> None:
    bridge = get_bridge()

    async def stubborn() -> str:
        try:
            await aio_sleep(10)
        except BaseException:
            return "cleaned up"
        return "slept"

    with trio.CancelScope() as scope:
        scope.cancel()
        assert await bridge.run(stubborn) == "cleaned up"


async def test_task_scope_adopts_and_cancels_spawned_tasks() -> None:
    bridge = get_bridge()
    scope = TaskScope("test")

    async def spawn() -> None:
        for i in range(3):
            aio_create_task(aio_sleep(30), name=f"orphan-{i}")

    await bridge.run(spawn, scope=scope)
    assert scope.live_tasks() == 3
    await bridge.run(scope.aclose)
    assert scope.live_tasks() == 0


async def test_feed_is_bounded_and_counts_drops() -> None:
    feed: TrioFeed[int] = TrioFeed(4)
    bridge = get_bridge()

    async def produce() -> None:
        for i in range(10):
            feed.put(i)
        feed.close()

    await bridge.run(produce)
    got = [value async for value in feed.receive_channel]
    assert got == [0, 1, 2, 3]
    assert feed.dropped == 6
    assert feed.delivered == 4


async def test_closing_a_bridge_cancels_leftover_tasks_and_ends_its_thread() -> None:
    bridge = Bridge()
    cancelled = threading.Event()

    async def leave_a_task_behind() -> None:
        async def orphan() -> None:
            try:
                await aio_sleep(30)
            except BaseException:
                cancelled.set()
                raise

        aio_create_task(orphan(), name="orphan")

    await bridge.run(leave_a_task_behind)
    thread = bridge.thread
    assert thread is not None and thread.is_alive()
    assert bridge.task_count() == 1
    await trio.to_thread.run_sync(bridge.close)
    assert cancelled.is_set()
    assert not thread.is_alive()
    with pytest.raises(BridgeClosedError):
        await bridge.run(aio_sleep, 0)


async def test_waiters_for_one_tick_share_it_and_a_cancelled_one_leaves_the_rest() -> None:
    period = 0.05

    async def on_loop() -> tuple[int, list[float]]:
        due = aio_current_tick(period) + 2
        woke: list[float] = []

        async def wait() -> None:
            await aio_sleep_until_tick(due, period)
            woke.append(aio_time())

        waiters = [aio_create_task(wait(), name=f"tick-{i}") for i in range(3)]
        quitter = aio_create_task(aio_sleep_until_tick(due, period), name="quitter")
        await aio_sleep(0)
        quitter.cancel()
        for task in waiters:
            await task
        return due, woke

    due, woke = await get_bridge().run(on_loop)
    assert len(woke) == 3
    # All three in the same pass of the loop, none before the tick began.
    assert min(woke) >= due * period - 0.001
    assert max(woke) - min(woke) < period / 2


async def test_hand_offs_to_trio_are_batched_per_loop_pass_in_order() -> None:
    caller, other = TrioCaller(), TrioCaller()
    got: list[int] = []
    done = trio.Event()

    async def burst() -> None:
        for i in range(100):
            (caller if i % 2 else other).call_soon(got.append, i)
        caller.call_soon(done.set)

    before = caller._batch.wakeups
    assert other._batch is caller._batch  # one queue per Trio run
    await get_bridge().run(burst)
    with trio.fail_after(5):
        await done.wait()
    assert got == list(range(100))
    assert caller._batch.wakeups - before == 1
    # From the Trio thread itself (no asyncio loop there) a call is handed over at once.
    caller.call_soon(got.append, 100)
    await trio.testing.wait_all_tasks_blocked()
    assert got[-1] == 100
