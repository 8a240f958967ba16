"""An Erlang/OTP-style supervisor on Trio.

Usage::

    sup = Supervisor(SupervisorSpec(strategy="one_for_one", intensity=3, period=5.0),
                     children=[ChildSpec(id="a", start=partial(run_a, cfg))])
    await nursery.start(sup.run)               # returns once the initial children started
    handle = await sup.start_child(ChildSpec(id="b", start=run_b, restart="transient"))
    await sup.terminate_child("b")             # stop it for good (no restart)
    sup.cancel_child("a")                      # exit "cancelled": its restart type decides
    sup.statistics(); sup.which_children(); sup.shutdown()

``run`` calls ``task_status.started(supervisor)``.  Each child runs in its own task inside
the supervisor's nursery, in its own cancel scope; a child's exception is caught there
and handed to the pure ``restart_decision.decide``, so under ``one_for_one`` a crash never
reaches a sibling.  When the restart intensity is exceeded every child is cancelled and
``run`` raises ``SupervisorGaveUp`` *from* the last failure.  An initial child that fails
before calling ``task_status.started`` makes ``run`` raise ``ChildStartError`` from it; a
child added with ``start_child`` that fails before ``started`` makes ``start_child``
raise that exception and the child is forgotten (OTP's ``{error, Reason}``).

Under ``one_for_one`` a child is restarted inside its own task (nothing else moves);
``one_for_all`` restarts are carried out by the ``run`` task: stop the siblings in
reverse start order, then start everything again in start order, each one awaited.
Stopping the whole supervisor cancels all children at once (not one by one, as OTP
does): with thousands of children a sequential shutdown would take too long.

Per child the supervisor keeps one small record and one task; there is no per-child
timer or channel.  Children that must do cleanup under cancellation use
``cleanup_scope()``, which is shielded with the child's ``shutdown`` grace as deadline.
"""

from __future__ import annotations

import collections
import contextvars
import logging
from collections.abc import Iterable
from typing import Any

import attrs
import trio

from kazoo_actors.actors.child_spec import ChildSpec, RestartType, Strategy, SupervisorSpec
from kazoo_actors.actors.restart_decision import (
    ExitKind,
    GiveUp,
    Leave,
    Restart,
    decide,
    should_restart,
)

logger = logging.getLogger(__name__)

_shutdown_grace: contextvars.ContextVar[float] = contextvars.ContextVar(
    "kazoo_actors_shutdown_grace", default=5.0
)


def cleanup_scope() -> trio.CancelScope:
    """A shielded scope bounded by the current child's ``ChildSpec.shutdown`` grace."""
    return trio.CancelScope(shield=True, deadline=trio.current_time() + _shutdown_grace.get())


class SupervisorError(Exception):
    """Base of the supervisor's own errors."""


class SupervisorGaveUp(SupervisorError):
    def __init__(self, message: str, *, child_id: str, restarts: int, period: float) -> None:
        super().__init__(message)
        self.child_id = child_id
        self.restarts = restarts
        self.period = period


class ChildStartError(SupervisorError):
    def __init__(self, message: str, *, child_id: str) -> None:
        super().__init__(message)
        self.child_id = child_id


class UnknownChild(SupervisorError, LookupError):
    pass


@attrs.frozen(kw_only=True)
class ChildInfo:
    id: str
    restart: RestartType
    handle: object
    running: bool


@attrs.frozen(kw_only=True)
class SupervisorStatistics:
    children: int
    running: int
    starts: int
    restarts: int
    failures: int
    normal_exits: int
    cancelled_exits: int
    gave_up: bool


class _Child:
    __slots__ = ("done", "handle", "running", "scope", "spec", "stopping")

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.handle: object = None
        self.scope: trio.CancelScope | None = None
        self.running = False
        self.stopping = False
        self.done: trio.Event | None = None


class _Started:
    """The ``task_status`` a child sees: records its handle, forwards the first ``started``."""

    __slots__ = ("child", "outer", "ready")

    def __init__(self, child: _Child, outer: trio.TaskStatus[Any] | None) -> None:
        self.child = child
        self.outer = outer
        self.ready = False

    def started(self, value: object = None) -> None:
        if self.ready:
            raise RuntimeError(f"child {self.child.spec.id!r} called started() twice")
        self.ready = True
        self.child.handle = value
        self.release(value)

    def release(self, value: object = None) -> None:
        outer, self.outer = self.outer, None
        if outer is not None:
            outer.started(value)


class Supervisor:
    def __init__(
        self,
        spec: SupervisorSpec | None = None,
        children: Iterable[ChildSpec] = (),
        *,
        name: str = "supervisor",
    ) -> None:
        self.spec = spec if spec is not None else SupervisorSpec()
        self.name = name
        self._initial = tuple(children)
        self._children: dict[str, _Child] = {}
        self._history: tuple[float, ...] = ()
        self._nursery: trio.Nursery | None = None
        self._pending: collections.deque[Restart] = collections.deque()
        self._wakeup = trio.Event()
        self._failure: SupervisorError | None = None
        self._failure_cause: BaseException | None = None
        self._running = 0
        self._starts = 0
        self._restarts = 0
        self._failures = 0
        self._normal_exits = 0
        self._cancelled_exits = 0

    # -- lifecycle -----------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED
    ) -> None:
        if self._nursery is not None:
            raise RuntimeError(f"{self.name} is already running")
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if await self._start_initial():
                    task_status.started(self)
                    await self._serve()
        finally:
            self._nursery = None
        if self._failure is not None:
            raise self._failure from self._failure_cause

    def shutdown(self) -> None:
        """Cancel every child and make ``run`` return."""
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _start_initial(self) -> bool:
        for spec in self._initial:
            try:
                await self.start_child(spec)
            except Exception as exc:
                self._fail(
                    ChildStartError(
                        f"{self.name}: child {spec.id!r} failed to start", child_id=spec.id
                    ),
                    exc,
                )
                return False
        return True

    async def _serve(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup = trio.Event()
            while self._pending:
                await self._restart_all(self._pending.popleft())

    # -- children --------------------------------------------------------------------

    async def start_child(self, spec: ChildSpec) -> Any:
        """Start a child and return the handle it passed to ``task_status.started``."""
        nursery, child = self._add_child(spec)
        return await nursery.start(self._supervise, child, True, name=spec.id)

    def start_child_nowait(self, spec: ChildSpec) -> None:
        """Start a child without waiting for its ``task_status.started``.

        For callers that hold the child's handle already (the engine builds each
        account actor before its task runs): no starter task and no start-up
        nursery per child. A failure before ``started`` is then an ordinary
        failure, handled by the child's restart type, not raised to the caller.
        """
        nursery, child = self._add_child(spec)
        nursery.start_soon(self._supervise, child, False, trio.TASK_STATUS_IGNORED, name=spec.id)

    def _add_child(self, spec: ChildSpec) -> tuple[trio.Nursery, _Child]:
        if self._nursery is None:
            raise RuntimeError(f"{self.name} is not running")
        if spec.id in self._children:
            raise ValueError(f"{self.name} already has a child {spec.id!r}")
        child = self._children[spec.id] = _Child(spec)
        return self._nursery, child

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child (cancel it, wait for it to exit) and forget it; no restart."""
        child = self._children.pop(child_id, None)
        if child is None:
            raise UnknownChild(f"{self.name} has no child {child_id!r}")
        await self._stop(child)

    def __contains__(self, child_id: object) -> bool:
        """Whether a child of this id is known (running, or waiting for its restart)."""
        return child_id in self._children

    def cancel_child(self, child_id: str) -> None:
        """Cancel a child as if it exited by cancellation; its restart type decides what next."""
        child = self._children.get(child_id)
        if child is None:
            raise UnknownChild(f"{self.name} has no child {child_id!r}")
        if child.scope is not None:
            child.scope.cancel()

    def which_children(self) -> list[ChildInfo]:
        return [
            ChildInfo(id=c.spec.id, restart=c.spec.restart, handle=c.handle, running=c.running)
            for c in self._children.values()
        ]

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(
            children=len(self._children),
            running=self._running,
            starts=self._starts,
            restarts=self._restarts,
            failures=self._failures,
            normal_exits=self._normal_exits,
            cancelled_exits=self._cancelled_exits,
            gave_up=isinstance(self._failure, SupervisorGaveUp),
        )

    # -- internals -------------------------------------------------------------------

    async def _stop(self, child: _Child) -> None:
        child.stopping = True
        if child.scope is not None:
            child.scope.cancel()
        if child.running:
            child.done = trio.Event()
            await child.done.wait()

    async def _supervise(
        self, child: _Child, caller_waits: bool, task_status: trio.TaskStatus[Any]
    ) -> None:
        """Run one child, restarting it in place under one_for_one.

        ``caller_waits``: a failure before ``started`` on the first run goes to the caller of
        ``start_child`` (OTP's ``{error, Reason}``); on restarts it is an ordinary failure.
        Each run is inline here rather than in a helper coroutine: every account's task
        would hold that coroutine's frame (~250 bytes) and pass every wake-up through it.
        """
        _shutdown_grace.set(child.spec.shutdown)
        status = _Started(child, task_status)
        # Held by this frame for the child's whole life, trio's task status would keep
        # the start-up nursery and the starting task alive (about 1 KB per child).
        del task_status
        child.running = True
        self._running += 1
        try:
            while True:
                self._starts += 1
                error: Exception | None = None
                try:
                    with trio.CancelScope() as scope:
                        child.scope = scope
                        if child.stopping:
                            scope.cancel()
                        await child.spec.start(task_status=status)
                except Exception as exc:
                    # A child's failure belongs to the restart decision, never to its siblings.
                    exit_kind, error = ExitKind.ERROR, exc
                else:
                    exit_kind = ExitKind.CANCELLED if scope.cancel_called else ExitKind.NORMAL
                if not status.ready:
                    if caller_waits and not child.stopping:
                        self._children.pop(child.spec.id, None)
                        if error is not None:
                            raise error
                        raise RuntimeError(
                            f"child {child.spec.id!r} returned before calling task_status.started()"
                        )
                    status.release()
                caller_waits = False
                if child.stopping:
                    return
                try:
                    # O(1), where comparing the effective deadline walks every enclosing scope.
                    await trio.lowlevel.checkpoint_if_cancelled()
                except trio.Cancelled:
                    # The supervisor itself is being cancelled: this exit is part of the shutdown.
                    if error is not None:
                        logger.warning(
                            "%s: child %r failed while shutting down",
                            self.name,
                            child.spec.id,
                            exc_info=error,
                        )
                    raise
                if not self._after_exit(child, exit_kind, error):
                    return
                status = _Started(child, None)
        finally:
            child.running = False
            child.scope = None
            self._running -= 1
            if child.done is not None:
                child.done.set()

    def _after_exit(self, child: _Child, exit_kind: ExitKind, error: BaseException | None) -> bool:
        """Apply the restart decision; True means: restart this child in its own task."""
        if exit_kind is ExitKind.ERROR:
            self._failures += 1
            logger.info("%s: child %r failed: %r", self.name, child.spec.id, error)
        elif exit_kind is ExitKind.NORMAL:
            self._normal_exits += 1
        else:
            self._cancelled_exits += 1
        if not should_restart(child.spec.restart, exit_kind):
            # decide() would say Leave under any strategy: skip the clock and the tuples
            # for the most common exit (an account that logged out).
            self._children.pop(child.spec.id, None)
            return False
        if self.spec.strategy is Strategy.ONE_FOR_ONE:
            # Under one_for_one only the exiting child matters: keep the decision O(1).
            children: Iterable[tuple[str, RestartType]] = ((child.spec.id, child.spec.restart),)
        else:
            children = tuple((c.spec.id, c.spec.restart) for c in self._children.values())
        decision = decide(
            child_id=child.spec.id,
            exit_kind=exit_kind,
            children=tuple(children),
            strategy=self.spec.strategy,
            intensity=self.spec.intensity,
            period=self.spec.period,
            history=self._history,
            now=trio.current_time(),
        )
        if isinstance(decision, Leave):
            self._children.pop(child.spec.id, None)
            return False
        if isinstance(decision, GiveUp):
            message = (
                f"{self.name}: {decision.restarts} restarts within {decision.period} s exceed the "
                f"intensity {self.spec.intensity}; last exit: child {child.spec.id!r} ({exit_kind})"
            )
            self._fail(
                SupervisorGaveUp(
                    message,
                    child_id=child.spec.id,
                    restarts=decision.restarts,
                    period=decision.period,
                ),
                error,
            )
            return False
        self._history = decision.history
        self._restarts += 1
        if decision.stop:
            self._pending.append(decision)
            self._wakeup.set()
            return False
        return True

    async def _restart_all(self, decision: Restart) -> None:
        for child_id in reversed(decision.stop):
            child = self._children.get(child_id)
            if child is not None:
                await self._stop(child)
        keep = set(decision.start)
        for child_id in decision.stop:
            if child_id not in keep:
                self._children.pop(child_id, None)
        for child_id in decision.start:
            child = self._children.get(child_id)
            if child is None or child.running:
                continue
            nursery = self._nursery
            if nursery is None:
                return
            child.stopping = False
            child.done = None
            await nursery.start(self._supervise, child, False, name=child_id)

    def _fail(self, error: SupervisorError, cause: BaseException | None) -> None:
        if self._failure is None:
            self._failure = error
            self._failure_cause = cause
        logger.error("%s: %s", self.name, error)
        self.shutdown()
