"""The engine's own epoll: a parked mailbox wakes for its socket, its deadline or a command."""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import Iterator

import pytest
import trio
import trio.testing

from kazoo_actors.actors.mailbox import Mailbox
from kazoo_actors.actors.readiness_poller import ReadinessPoller, Watch


def _poller() -> ReadinessPoller:
    poller = ReadinessPoller.current()
    assert poller is not None  # Linux: there is an epoll
    return poller


@contextlib.contextmanager
def _watched_pair() -> Iterator[
    tuple[ReadinessPoller, Mailbox[str], Watch, socket.socket, socket.socket]
]:
    """A socket pair whose first end is watched for a parked mailbox."""
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        yield poller, mailbox, poller.watch(ours.fileno(), mailbox), ours, theirs


async def test_one_poller_per_run() -> None:
    assert ReadinessPoller.current() is _poller()


async def test_data_on_the_socket_wakes_the_parked_owner() -> None:
    with _watched_pair() as (poller, mailbox, watch, ours, theirs):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 0.05)
            nursery.start_soon(_send_later, theirs, b"news")
            with trio.fail_after(5):
                await mailbox.park(math.inf, poller)
        assert watch.ready
        assert ours.recv(100) == b"news"
        watch.forget()


async def _send_later(sock: socket.socket, data: bytes) -> None:
    await trio.sleep(0.01)
    sock.send(data)


async def test_an_edge_comes_again_only_for_new_data() -> None:
    with _watched_pair() as (poller, mailbox, watch, ours, theirs):
        theirs.send(b"one")
        with trio.fail_after(5):
            await mailbox.park(math.inf, poller)
        watch.ready = False  # as an owner does after a short read
        # Unread data raises no second edge: parking now sleeps until the deadline.
        with trio.move_on_after(0.05) as idle:
            await mailbox.park(math.inf, poller)
        assert idle.cancelled_caught
        assert not watch.ready
        theirs.send(b"two")
        with trio.fail_after(5):
            await mailbox.park(math.inf, poller)
        assert watch.ready
        assert ours.recv(100) == b"onetwo"
        watch.forget()


async def test_a_forgotten_socket_wakes_nobody() -> None:
    with _watched_pair() as (poller, mailbox, watch, _ours, theirs):
        watch.forget()
        theirs.send(b"late")
        with trio.move_on_after(0.05) as idle:
            await mailbox.park(math.inf, poller)
        assert idle.cancelled_caught
        assert not watch.ready


async def test_the_deadline_wakes_the_owner(autojump_clock: trio.testing.MockClock) -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    deadline = trio.current_time() + 7.0
    await mailbox.park(deadline, poller)
    assert trio.current_time() == pytest.approx(deadline)
    assert mailbox.registered_deadline == math.inf


async def test_a_replaced_deadline_no_longer_wakes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    start = trio.current_time()
    async with trio.open_nursery() as nursery:

        async def command_at_one_second() -> None:
            await trio.sleep(1.0)
            mailbox.put_nowait("hello")

        nursery.start_soon(command_at_one_second)
        await mailbox.park(start + 5.0, poller)
    assert trio.current_time() == pytest.approx(start + 1.0)
    assert mailbox.take_all() == ["hello"]
    # The five-second entry is still in the poller's heap: it must not cut this wait short.
    await mailbox.park(start + 9.0, poller)
    assert trio.current_time() == pytest.approx(start + 9.0)


async def test_a_command_wakes_without_cancelling() -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_put_later, mailbox)
        with trio.fail_after(5):
            await mailbox.park(math.inf, poller)  # returns: no Cancelled to catch
    assert mailbox.take_all() == ["logout"]


async def _put_later(mailbox: Mailbox[str]) -> None:
    await trio.sleep(0.01)
    mailbox.put_nowait("logout")


async def test_a_queued_command_returns_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    mailbox.put_nowait("reconnect")
    start = trio.current_time()
    await mailbox.park(start + 30.0, poller)
    assert trio.current_time() == start


async def test_cancelling_a_parked_owner_ends_its_wait() -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    with trio.move_on_after(0.01) as scope:
        await mailbox.park(math.inf, poller)
    assert scope.cancelled_caught
    # Nobody is parked any more: waking is a no-op rather than a reschedule of a running task.
    mailbox.put_nowait("late")
    assert mailbox.take_all() == ["late"]


async def test_stale_deadlines_are_compacted_away(
    autojump_clock: trio.testing.MockClock,
) -> None:
    poller = _poller()
    mailboxes: list[Mailbox[str]] = [Mailbox() for _ in range(10)]
    now = trio.current_time()
    for step in range(500):
        for mailbox in mailboxes:
            # Each registration supersedes the one before, earlier each time: a new entry.
            mailbox.registered_deadline = now + 1000 - step
            poller.wake_at(mailbox.registered_deadline, mailbox)
    live = [entry for entry in poller._deadlines if entry[2].registered_deadline == entry[0]]
    assert len(live) == len(mailboxes)
    assert len(poller._deadlines) <= 2 * 1024 + len(mailboxes)


async def test_a_later_deadline_adds_no_entry(autojump_clock: trio.testing.MockClock) -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    now = trio.current_time()
    entries = len(poller._deadlines)
    for step in range(50):
        mailbox.registered_deadline = now + 10 + step
        poller.wake_at(mailbox.registered_deadline, mailbox)
    assert len(poller._deadlines) == entries + 1


async def test_a_deadline_moved_later_wakes_at_the_later_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_put_later, mailbox)
        await mailbox.park(start + 5.0, poller)  # the command comes first
    assert mailbox.take_all() == ["logout"]
    # Its 5-second entry stands in for this later deadline: at 5 s the poller queues 12 s.
    await mailbox.park(start + 12.0, poller)
    assert trio.current_time() == pytest.approx(start + 12.0)
    assert mailbox.registered_deadline == math.inf
    assert mailbox.queued_deadline == math.inf


async def test_an_earlier_deadline_wakes_first_and_the_old_entry_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    poller = _poller()
    mailbox: Mailbox[str] = Mailbox()
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_put_later, mailbox)
        await mailbox.park(start + 20.0, poller)
    mailbox.take_all()
    await mailbox.park(start + 3.0, poller)
    assert trio.current_time() == pytest.approx(start + 3.0)
    # The 20-second entry is stale now: it must not cut a wait for a command short.
    async with trio.open_nursery() as nursery:

        async def command_at_forty() -> None:
            await trio.sleep_until(start + 40.0)
            mailbox.put_nowait("late")

        nursery.start_soon(command_at_forty)
        await mailbox.park(math.inf, poller)
    assert trio.current_time() == pytest.approx(start + 40.0)
    assert mailbox.take_all() == ["late"]
