"""Supervisor runtime on Trio: restarts, strategies, intensity, dynamic children."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import trio

from kazoo_actors.actors.child_spec import ChildSpec, SupervisorSpec
from kazoo_actors.actors.supervisor import (
    ChildStartError,
    Supervisor,
    SupervisorGaveUp,
    UnknownChild,
    cleanup_scope,
)


class Boom(Exception):
    pass


class Recorder:
    """Counts starts per child and lets a test make a running child fail or return."""

    def __init__(self) -> None:
        self.starts: dict[str, int] = {}
        self.exits: list[str] = []
        self.fail_events: dict[str, trio.Event] = {}

    def fail(self, child_id: str) -> None:
        self.fail_events[child_id].set()

    async def child(
        self,
        child_id: str,
        *,
        fail_after: float | None = None,
        return_after: float | None = None,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        self.starts[child_id] = self.starts.get(child_id, 0) + 1
        event = self.fail_events[child_id] = trio.Event()
        task_status.started(f"{child_id}#{self.starts[child_id]}")
        try:
            with trio.move_on_after(return_after if return_after is not None else float("inf")):
                if fail_after is not None:
                    await trio.sleep(fail_after)
                    raise Boom(child_id)
                await event.wait()
                raise Boom(child_id)
        finally:
            self.exits.append(child_id)

    def spec(self, child_id: str, **kwargs: Any) -> ChildSpec:
        options = {k: kwargs.pop(k) for k in ("fail_after", "return_after") if k in kwargs}
        return ChildSpec(
            id=child_id, start=functools.partial(self.child, child_id, **options), **kwargs
        )


async def started(nursery: trio.Nursery, sup: Supervisor) -> Supervisor:
    result: Supervisor = await nursery.start(sup.run)
    return result


async def test_one_for_one_restarts_only_the_failed_child(autojump_clock: trio.abc.Clock) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=3, period=5), [rec.spec("a"), rec.spec("b")])
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        rec.fail("a")
        await trio.sleep(1)
        assert rec.starts == {"a": 2, "b": 1}
        handles = {info.id: info.handle for info in sup.which_children()}
        assert handles == {"a": "a#2", "b": "b#1"}
        stats = sup.statistics()
        assert (stats.children, stats.running, stats.restarts, stats.failures) == (2, 2, 1, 1)
        sup.shutdown()
    assert sorted(rec.exits) == ["a", "a", "b"]


async def test_intensity_exceeded_gives_up_from_the_last_failure(
    autojump_clock: trio.abc.Clock,
) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=2, period=10), [rec.spec("a", fail_after=1)])
    with trio.fail_after(60), pytest.raises(SupervisorGaveUp) as info:
        await sup.run()
    # Two restarts fit in 10 s, the third exceeds the intensity.
    assert rec.starts == {"a": 3}
    assert isinstance(info.value.__cause__, Boom)
    assert info.value.child_id == "a"
    assert info.value.restarts == 3
    assert "intensity 2" in str(info.value)
    assert sup.statistics().gave_up


async def test_failures_spread_beyond_the_period_never_give_up(
    autojump_clock: trio.abc.Clock,
) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=1, period=5), [rec.spec("a", fail_after=6)])
    with trio.move_on_after(60):
        await sup.run()
    assert rec.starts["a"] == 10
    assert not sup.statistics().gave_up


async def test_one_for_all_restarts_everyone_in_order_and_drops_temporaries(
    autojump_clock: trio.abc.Clock,
) -> None:
    rec = Recorder()
    order: list[str] = []

    async def tracked(child_id: str, *, task_status: trio.TaskStatus[Any]) -> None:
        order.append(child_id)
        await rec.child(child_id, task_status=task_status)

    specs = [
        ChildSpec(id=cid, start=functools.partial(tracked, cid), restart=restart)
        for cid, restart in (("a", "permanent"), ("t", "temporary"), ("b", "transient"))
    ]
    sup = Supervisor(SupervisorSpec(strategy="one_for_all", intensity=3, period=5), specs)
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        rec.fail("b")
        await trio.sleep(1)
        assert order == ["a", "t", "b", "a", "b"]
        assert [info.id for info in sup.which_children()] == ["a", "b"]
        # Siblings were stopped in reverse start order before the restart.
        assert rec.exits == ["b", "t", "a"]
        sup.shutdown()


async def test_transient_and_temporary_rules(autojump_clock: trio.abc.Clock) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=10, period=5))
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        await sup.start_child(rec.spec("tr-normal", restart="transient", return_after=1))
        await sup.start_child(rec.spec("tr-error", restart="transient"))
        await sup.start_child(rec.spec("temp", restart="temporary"))
        await sup.start_child(rec.spec("perm-normal", return_after=1))
        rec.fail("tr-error")
        rec.fail("temp")
        await trio.sleep(1.5)
        assert rec.starts == {"tr-normal": 1, "tr-error": 2, "temp": 1, "perm-normal": 2}
        assert sorted(i.id for i in sup.which_children()) == ["perm-normal", "tr-error"]
        sup.shutdown()


async def test_start_child_returns_handle_and_rejects_duplicates() -> None:
    rec = Recorder()
    sup = Supervisor()
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        assert await sup.start_child(rec.spec("x")) == "x#1"
        with pytest.raises(ValueError, match="already has a child 'x'"):
            await sup.start_child(rec.spec("x"))
        sup.shutdown()


async def test_start_failure_reaches_the_caller_and_forgets_the_child() -> None:
    async def broken(*, task_status: trio.TaskStatus[Any]) -> None:
        raise Boom("cannot start")

    async def lazy(*, task_status: trio.TaskStatus[Any]) -> None:
        return None

    sup = Supervisor()
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        with pytest.raises(Boom):
            await sup.start_child(ChildSpec(id="broken", start=broken))
        with pytest.raises(RuntimeError, match=r"before calling task_status\.started"):
            await sup.start_child(ChildSpec(id="lazy", start=lazy))
        assert sup.which_children() == []
        assert sup.statistics().restarts == 0
        sup.shutdown()


async def test_a_child_started_without_waiting_runs_and_restarts_by_its_type(
    autojump_clock: trio.abc.Clock,
) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=3, period=5))
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        sup.start_child_nowait(rec.spec("w"))
        with pytest.raises(ValueError, match="already has a child 'w'"):
            sup.start_child_nowait(rec.spec("w"))
        await trio.sleep(0.1)
        assert rec.starts == {"w": 1}
        assert [info.handle for info in sup.which_children()] == ["w#1"]
        rec.fail("w")
        await trio.sleep(1)
        assert rec.starts == {"w": 2}
        sup.shutdown()


async def test_a_failure_before_started_without_a_waiting_caller_is_an_ordinary_failure(
    autojump_clock: trio.abc.Clock,
) -> None:
    attempts = 0

    async def flaky(*, task_status: trio.TaskStatus[Any]) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise Boom("cannot start yet")
        task_status.started("ok")
        await trio.sleep_forever()

    sup = Supervisor(SupervisorSpec(intensity=3, period=5))
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        sup.start_child_nowait(ChildSpec(id="flaky", start=flaky))  # permanent
        await trio.sleep(1)
        assert attempts == 2
        assert sup.statistics().failures == 1
        assert [info.handle for info in sup.which_children()] == ["ok"]
        sup.shutdown()


async def test_initial_child_failing_to_start_fails_the_supervisor() -> None:
    async def broken(*, task_status: trio.TaskStatus[Any]) -> None:
        raise Boom("cannot start")

    sup = Supervisor(children=[ChildSpec(id="broken", start=broken)])
    with pytest.raises(ChildStartError) as info:
        await sup.run()
    assert isinstance(info.value.__cause__, Boom)
    assert info.value.child_id == "broken"


async def test_terminate_child_stops_without_restart(autojump_clock: trio.abc.Clock) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=0))
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        await sup.start_child(rec.spec("a"))
        await sup.start_child(rec.spec("b"))
        await sup.terminate_child("a")
        assert rec.exits == ["a"]
        assert [i.id for i in sup.which_children()] == ["b"]
        with pytest.raises(UnknownChild):
            await sup.terminate_child("a")
        with pytest.raises(UnknownChild):
            sup.cancel_child("a")
        assert sup.statistics().running == 1
        sup.shutdown()


async def test_cancel_child_is_an_exit_the_restart_type_decides(
    autojump_clock: trio.abc.Clock,
) -> None:
    rec = Recorder()
    sup = Supervisor(SupervisorSpec(intensity=5))
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        await sup.start_child(rec.spec("perm"))
        await sup.start_child(rec.spec("trans", restart="transient"))
        sup.cancel_child("perm")
        sup.cancel_child("trans")
        await trio.sleep(1)
        assert rec.starts == {"perm": 2, "trans": 1}
        assert [i.id for i in sup.which_children()] == ["perm"]
        assert sup.statistics().cancelled_exits == 2
        sup.shutdown()


async def test_cleanup_scope_is_bounded_by_the_shutdown_grace(
    autojump_clock: trio.abc.Clock,
) -> None:
    cleaned: list[float] = []

    async def stubborn(*, task_status: trio.TaskStatus[Any]) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with cleanup_scope():
                start = trio.current_time()
                await trio.sleep(100)
            cleaned.append(trio.current_time() - start)

    sup = Supervisor()
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        await sup.start_child(ChildSpec(id="s", start=stubborn, shutdown=2.5))
        with trio.fail_after(10):
            await sup.terminate_child("s")
        sup.shutdown()
    assert cleaned == [pytest.approx(2.5)]


async def test_child_raising_an_exception_group_is_a_failure(
    autojump_clock: trio.abc.Clock,
) -> None:
    starts = 0

    async def grouped(*, task_status: trio.TaskStatus[Any]) -> None:
        nonlocal starts
        starts += 1
        task_status.started()
        async with trio.open_nursery() as inner:
            inner.start_soon(trio.sleep_forever)
            await trio.sleep(1)
            raise Boom("inside a nursery")

    sup = Supervisor(SupervisorSpec(intensity=1, period=1.5), [ChildSpec(id="g", start=grouped)])
    with pytest.raises(SupervisorGaveUp) as info:
        await sup.run()
    assert starts == 2
    assert isinstance(info.value.__cause__, ExceptionGroup)


async def test_supervisor_as_a_child_of_a_supervisor(autojump_clock: trio.abc.Clock) -> None:
    rec = Recorder()
    inner_made: list[Supervisor] = []

    async def inner(*, task_status: trio.TaskStatus[Any]) -> None:
        sup = Supervisor(SupervisorSpec(intensity=0), [rec.spec("leaf")], name="inner")
        inner_made.append(sup)
        await sup.run(task_status=task_status)

    outer = Supervisor(SupervisorSpec(intensity=1, period=5), [ChildSpec(id="inner", start=inner)])
    async with trio.open_nursery() as nursery:
        await started(nursery, outer)
        rec.fail("leaf")
        await trio.sleep(1)
        # The inner supervisor gave up (intensity 0) and the outer one restarted it.
        assert len(inner_made) == 2
        assert rec.starts == {"leaf": 2}
        assert outer.statistics().failures == 1
        outer.shutdown()


async def test_a_restart_that_fails_to_start_counts_toward_intensity(
    autojump_clock: trio.abc.Clock,
) -> None:
    rec = Recorder()
    b_starts = 0

    async def flaky(*, task_status: trio.TaskStatus[Any]) -> None:
        nonlocal b_starts
        b_starts += 1
        if b_starts > 1:
            raise Boom("cannot start again")
        task_status.started()
        await trio.sleep(1)
        raise Boom("crashed")

    for strategy in ("one_for_one", "one_for_all"):
        b_starts = 0
        sup = Supervisor(
            SupervisorSpec(strategy=strategy, intensity=3, period=60),
            [rec.spec(f"a-{strategy}"), ChildSpec(id="b", start=flaky)],
        )
        with trio.fail_after(10), pytest.raises(SupervisorGaveUp) as info:
            await sup.run()
        assert b_starts == 4
        assert str(info.value.__cause__) == "cannot start again"
    # one_for_one never touched "a"; one_for_all restarted it with every attempt on "b".
    assert rec.starts == {"a-one_for_one": 1, "a-one_for_all": 4}


async def test_a_child_failing_during_shutdown_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def messy(*, task_status: trio.TaskStatus[Any]) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            raise Boom("cleanup went wrong")

    sup = Supervisor(SupervisorSpec(intensity=0), [ChildSpec(id="messy", start=messy)])
    async with trio.open_nursery() as nursery:
        await started(nursery, sup)
        sup.shutdown()
    assert not sup.statistics().gave_up
    assert "child 'messy' failed while shutting down" in caplog.text


async def test_exits_under_an_outer_cancellation_are_no_restarts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def swallows(*, task_status: trio.TaskStatus[Any]) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            return  # a permanent child that returns normally while everything is cancelled

    async def messy(*, task_status: trio.TaskStatus[Any]) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            raise Boom("cleanup went wrong")

    sup = Supervisor(
        SupervisorSpec(intensity=0),
        [ChildSpec(id="quiet", start=swallows), ChildSpec(id="messy", start=messy)],
    )
    with trio.CancelScope() as outer:
        async with trio.open_nursery() as nursery:
            await started(nursery, sup)
            outer.cancel()  # not supervisor.shutdown(): a scope around it
    stats = sup.statistics()
    assert (stats.gave_up, stats.restarts, stats.failures, stats.running) == (False, 0, 0, 0)
    assert "child 'messy' failed while shutting down" in caplog.text
