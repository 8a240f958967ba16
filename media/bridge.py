"""The one asyncio event loop of the process, in its own daemon thread, driven from Trio.

aiortc only runs on asyncio. LAB-NOTES measured two ways of driving it from Trio: trio-asyncio
and a plain asyncio loop in its own thread; the thread used about half the CPU for the same
media load, so every media session of a process shares one such loop, started lazily.

This is the only module of the project that imports asyncio. Other media modules write
coroutines that await aiortc objects and run them here through :meth:`Bridge.run`; when they
need an asyncio primitive (a sleep) they take it from the helpers at the bottom of this file.

Crossing the bridge:

* Trio -> asyncio: ``await bridge.run(coro_fn, *args, scope=...)`` starts the coroutine as a
  task on the loop (``call_soon_threadsafe`` + ``create_task``: the same as
  ``run_coroutine_threadsafe``, minus its concurrent future, which reports "cancelled" at once,
  before the asyncio task has unwound); the task's done-callback wakes the Trio task through
  ``TrioToken.run_sync_soon`` (no Trio thread blocks per call). Exceptions raised on the asyncio
  side re-raise in the Trio caller; cancelling the Trio caller cancels the asyncio task and
  waits for it to unwind before ``trio.Cancelled`` propagates.
* asyncio -> Trio: :class:`TrioCaller` runs a plain callback in Trio; the calls of one loop
  pass reach Trio in one batch. :class:`TrioFeed` is a bounded one-way stream of values (a
  Trio memory channel fed through a TrioCaller); when the Trio reader falls behind, new
  values are dropped and counted instead of queueing without bound.
* Ownership: aiortc starts tasks it never awaits. Every task created while a coroutine runs
  under a :class:`TaskScope` (passed to ``run``) is adopted by that scope through the loop's
  task factory and a context variable, which tasks, transports and callbacks inherit. Closing
  the scope cancels whatever is left, so no aiortc task outlives the session that caused it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import outcome
import trio

T = TypeVar("T")

THREAD_NAME = "media-bridge"
_SHUTDOWN_GRACE_SECONDS = 2.0


class BridgeClosedError(RuntimeError):
    """The asyncio loop is shut down (or shutting down); nothing more can run on it."""


class TaskScope:
    """The asyncio tasks started on behalf of one owner, e.g. one media session.

    Tasks join the scope when they are created (by our code or by aiortc) while the scope is
    current; finished tasks leave it. ``aclose`` runs on the loop.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<TaskScope {self.name} tasks={len(self._tasks)}>"

    def live_tasks(self) -> int:
        """How many adopted tasks have not finished (safe to read from any thread)."""
        return sum(1 for task in list(self._tasks) if not task.done())

    def _adopt(self, task: asyncio.Task[Any]) -> None:
        if self._closed:
            # A late callback of a closed session started a task: it has no owner left.
            task.cancel()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self, grace: float = _SHUTDOWN_GRACE_SECONDS) -> None:
        """Cancel every task still running in the scope and wait (bounded) for them to end."""
        self._closed = True
        me = asyncio.current_task()
        pending = [task for task in self._tasks if task is not me and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace)


_current_scope: contextvars.ContextVar[TaskScope | None] = contextvars.ContextVar(
    "media_task_scope", default=None
)


def _task_factory(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, Any],
    context: contextvars.Context | None = None,
) -> asyncio.Task[Any]:
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, context=context)
    scope = context.get(_current_scope) if context is not None else _current_scope.get()
    if scope is not None:
        scope._adopt(task)
    return task


class _InlineEncoderExecutor(concurrent.futures.ThreadPoolExecutor):
    """Default executor of the bridge loop.

    aiortc's RTCRtpSender encodes every 20 ms frame through ``run_in_executor(None, ...)``. An
    Opus or G.711 frame encodes in tens of microseconds, less than a thread hand-off costs, so
    those calls run inline on the loop thread. Anything else (a blocking DNS lookup for a STUN
    server) goes to the pool, whose threads asyncio only starts on first use.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix=THREAD_NAME + "-blocking")

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        if getattr(fn, "__name__", "") != "encode":
            return super().submit(fn, *args, **kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _TrioBatch:
    """The hand-offs to one Trio run from the bridge loop, sent once per pass of the loop.

    Each decoded frame for a FrameStream (and each PushSource refill, state change, DTMF
    digit) used to wake the Trio thread on its own (``run_sync_soon``: a lock and a
    self-pipe write, then a GIL hand-off). Calls made on the loop thread are queued, and the
    first one of a pass schedules a flush that runs once every callback already ready on the
    loop has run: paced tracks send on a shared tick (media.track), so a burst of frames
    shares one wake-up (10 calls feeding FrameStreams: 2,835 -> 608 wake-ups in 4 s, CPU per
    frame moved -8 %). Calls from other threads join the queue and flush it at once.
    """

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self._token = token
        self._lock = threading.Lock()
        self._pending: list[tuple[Callable[..., object], tuple[Any, ...]]] = []
        self.wakeups = 0

    def call_soon(self, fn: Callable[..., object], args: tuple[Any, ...]) -> bool:
        with self._lock:
            self._pending.append((fn, args))
            first = len(self._pending) == 1
        if not first:
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._flush()
        loop.call_soon(self._flush)
        return True

    def flush_stranded(self) -> None:
        """Hand over what a stopped loop's never-run flush would have."""
        with self._lock:
            stranded = bool(self._pending)
        if stranded:
            self._flush()

    def _flush(self) -> bool:
        self.wakeups += 1
        try:
            self._token.run_sync_soon(self._run_pending)
        except trio.RunFinishedError:
            with self._lock:
                self._pending.clear()
            return False
        return True

    def _run_pending(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        failure: BaseException | None = None
        for fn, args in batch:
            try:
                fn(*args)
            except BaseException as exc:  # run the rest, then fail as a single call would
                failure = failure or exc
        if failure is not None:
            raise failure


_batches: weakref.WeakValueDictionary[trio.lowlevel.TrioToken, _TrioBatch] = (
    weakref.WeakValueDictionary()
)
_batches_lock = threading.Lock()


class TrioCaller:
    """Runs plain callables in a Trio run from the bridge thread (fire and forget).

    Created on the Trio side, it remembers that run. Calls keep their order and are batched
    with those of every other caller of the same run (:class:`_TrioBatch`). Calls after the
    run has finished are dropped: there is nobody left to tell.
    """

    def __init__(self) -> None:
        token = trio.lowlevel.current_trio_token()
        with _batches_lock:
            batch = _batches.get(token)
            if batch is None:
                batch = _batches[token] = _TrioBatch(token)
        self._batch = batch

    def call_soon(self, fn: Callable[..., object], *args: Any) -> bool:
        """Queue ``fn(*args)`` for the Trio run; False when that run has finished."""
        return self._batch.call_soon(fn, args)


class TrioFeed(Generic[T]):
    """A bounded stream of values from the asyncio thread to Trio.

    Create it on the Trio side; the asyncio side calls :meth:`put` (never blocks) and
    :meth:`close`; Trio reads ``feed.receive_channel`` (an ``async for``-able memory channel).
    At most ``max_buffer`` values wait at a time, counting those still in flight between the
    threads; beyond that :meth:`put` drops the value and counts it in ``dropped``, so a slow
    reader can never make media processing queue without bound.
    """

    def __init__(self, max_buffer: int) -> None:
        if max_buffer < 1:
            raise ValueError("max_buffer must be at least 1")
        self._caller = TrioCaller()
        self._max = max_buffer
        send, receive = trio.open_memory_channel[T](max_buffer)
        self._send = send
        self.receive_channel: trio.MemoryReceiveChannel[T] = receive
        self._in_flight = 0
        self._lock = threading.Lock()
        self.dropped = 0
        self.delivered = 0

    def put(self, value: T) -> bool:
        """Offer a value (any thread); False when it was dropped."""
        with self._lock:
            buffered = self._in_flight + self._send.statistics().current_buffer_used
            if buffered >= self._max:
                self.dropped += 1
                return False
            self._in_flight += 1
        if not self._caller.call_soon(self._deliver, value):
            with self._lock:
                self._in_flight -= 1
                self.dropped += 1
            return False
        return True

    def close(self) -> None:
        """End the stream (any thread); the reader sees end-of-channel after what is buffered."""
        self._caller.call_soon(self._send.close)

    def _deliver(self, value: T) -> None:
        with self._lock:
            self._in_flight -= 1
        try:
            self._send.send_nowait(value)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            with self._lock:
                self.dropped += 1
        else:
            self.delivered += 1


class Bridge:
    """One asyncio loop in a daemon thread. Use :func:`get_bridge` for the shared one."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._executor = _InlineEncoderExecutor()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def running(self) -> bool:
        return self._loop is not None and not self._closed

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise BridgeClosedError("the media bridge is shut down")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                loop.set_task_factory(_task_factory)  # type: ignore[arg-type]
                loop.set_default_executor(self._executor)
                started = threading.Event()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                thread = threading.Thread(target=main, name=THREAD_NAME, daemon=True)
                thread.start()
                started.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    async def run(
        self,
        coro_fn: Callable[..., Awaitable[T]],
        *args: Any,
        scope: TaskScope | None = None,
    ) -> T:
        """Run ``await coro_fn(*args)`` on the loop and return its result to the Trio caller.

        Tasks the coroutine starts (directly or through aiortc) join ``scope``. Cancelling the
        caller cancels the asyncio task; the caller then waits for it to unwind, and gets the
        coroutine's result or exception if the coroutine finished anyway.
        """
        loop = self._ensure_started()
        token = trio.lowlevel.current_trio_token()
        trio_task = trio.lowlevel.current_task()
        started: list[asyncio.Task[T]] = []
        cancel_requested = False
        raise_cancel: Callable[[], object] | None = None

        def wake(task: asyncio.Task[T]) -> None:
            result = outcome.capture(task.result)
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(trio.lowlevel.reschedule, trio_task, outcome.Value(result))

        def start() -> None:
            # A fresh context per call: the task and all it spawns see only this scope.
            context = contextvars.Context()
            context.run(_current_scope.set, scope)
            task = loop.create_task(_as_coroutine(coro_fn, *args), context=context)
            started.append(task)
            task.add_done_callback(wake)
            if cancel_requested:
                task.cancel()

        def cancel_on_loop() -> None:
            for task in started:
                task.cancel()

        def abort(raise_cancel_fn: Callable[[], object]) -> trio.lowlevel.Abort:
            nonlocal cancel_requested, raise_cancel
            cancel_requested = True
            raise_cancel = raise_cancel_fn
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(cancel_on_loop)
            # Wait for the asyncio side to unwind; wake() reschedules us then.
            return trio.lowlevel.Abort.FAILED

        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError as exc:
            raise BridgeClosedError("the media bridge is shut down") from exc
        result: outcome.Outcome[T] = await trio.lowlevel.wait_task_rescheduled(abort)
        if isinstance(result, outcome.Error) and isinstance(result.error, asyncio.CancelledError):
            if raise_cancel is not None:
                raise_cancel()
            raise BridgeClosedError("the media bridge cancelled the call while shutting down")
        return result.unwrap()

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Schedule a plain callable on the loop from any thread (fire and forget)."""
        loop = self._ensure_started()
        loop.call_soon_threadsafe(fn, *args)

    def task_count(self) -> int:
        """Unfinished asyncio tasks on the loop (for tests and statistics)."""
        loop = self._loop
        if loop is None or self._closed:
            return 0
        return len([task for task in asyncio.all_tasks(loop) if not task.done()])

    def close(self) -> None:
        """Cancel every task still on the loop, stop it and join its thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def cancel_everything() -> None:
            me = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not me]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=_SHUTDOWN_GRACE_SECONDS)
            await loop.shutdown_asyncgens()

        if thread is not threading.current_thread():
            future = asyncio.run_coroutine_threadsafe(cancel_everything(), loop)
            with contextlib.suppress(
                concurrent.futures.TimeoutError, concurrent.futures.CancelledError
            ):
                future.result(timeout=_SHUTDOWN_GRACE_SECONDS + 1)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_SHUTDOWN_GRACE_SECONDS)
        if not thread.is_alive():
            loop.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        # A flush the stopped loop never ran would hold its Trio run's hand-offs forever.
        with _batches_lock:
            batches = list(_batches.values())
        for batch in batches:
            batch.flush_stranded()


_default: Bridge | None = None
_default_lock = threading.Lock()


def get_bridge() -> Bridge:
    """The process-wide bridge, created on first use and closed at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None or not (_default.running or _default._loop is None):
            _default = Bridge()
            atexit.register(_default.close)
        return _default


# asyncio-side helpers for the other media modules (which must not import asyncio).


async def aio_sleep(seconds: float) -> None:
    """Sleep on the bridge loop (for code that runs there)."""
    await asyncio.sleep(seconds)


class _Ticks:
    """One loop timer per tick, however many tasks wait for that tick.

    Paced media tracks each slept until their own next frame: with 20 calls that was 1,000
    timers a second at scattered times, each its own wake-up of the loop (an epoll_wait that
    was ~20 % of the bridge thread). On a shared grid the loop wakes once per tick and every
    track due then runs in the same pass.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, period: float) -> None:
        self._loop = loop
        self._period = period
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    def current(self) -> int:
        return int(self._loop.time() // self._period)

    def wait(self, tick: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        waiters = self._waiters.get(tick)
        if waiters is None:
            waiters = self._waiters[tick] = []
            self._loop.call_at(tick * self._period, self._fire, tick)
        waiters.append(future)
        return future

    def _fire(self, tick: int) -> None:
        for future in self._waiters.pop(tick, ()):
            # A waiter cancelled meanwhile has its own future done already.
            if not future.done():
                future.set_result(None)


# The grids hang on their loop, so they live and die with it (a registry keyed by loop would
# keep a closed loop alive through the futures its waiters hold).
_TICKS_ATTRIBUTE = "_media_bridge_ticks"


def _ticks_of(period: float) -> _Ticks:
    loop = asyncio.get_running_loop()
    grids: dict[float, _Ticks] | None = getattr(loop, _TICKS_ATTRIBUTE, None)
    if grids is None:
        grids = {}
        setattr(loop, _TICKS_ATTRIBUTE, grids)
    ticks = grids.get(period)
    if ticks is None:
        ticks = grids[period] = _Ticks(loop, period)
    return ticks


def aio_current_tick(period: float) -> int:
    """The tick of a ``period``-second grid on the bridge loop's clock that has begun
    (call on the loop thread)."""
    return _ticks_of(period).current()


async def aio_sleep_until_tick(tick: int, period: float) -> None:
    """Sleep until tick ``tick`` of the ``period``-second grid begins, sharing one loop timer
    with every other task waiting for the same tick."""
    await _ticks_of(period).wait(tick)


def aio_time() -> float:
    """The bridge loop's clock, in seconds (call on the loop thread)."""
    return asyncio.get_running_loop().time()


def aio_create_task(coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """Start a task on the running loop; it joins the current :class:`TaskScope`."""
    return asyncio.get_running_loop().create_task(coro, name=name)


async def _as_coroutine(coro_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await coro_fn(*args)
