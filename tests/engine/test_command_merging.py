"""An account's mailbox merges redundant commands, and the merge changes nothing.

The property pinned here: commands posted to an actor that has not read them yet
and then handled as one batch (what the mailbox kept after merging) leave the
actor exactly as posting and handling them one at a time does: state, session
end, flags, counters, timers, what it queued to send, and every event emitted,
from any state the actor can be in when it reads them (a superset: every
combination of its state and flags). Run without Trio: handling a command is
synchronous (``AccountActor._run_commands``).
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import attrs
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from kazoo_actors.account import Account
from kazoo_actors.actors.account import AccountActor
from kazoo_actors.actors.account_commands import (
    Command,
    ConnectivityChanged,
    Logout,
    Reconnect,
    ResumedFromSleep,
    SetAutoReconnect,
    SetMonitorConnectivity,
)
from kazoo_actors.actors.account_state import AccountState, SessionEnd
from kazoo_actors.actors.call_router import CallWork
from kazoo_actors.actors.command_merging import merge_command
from kazoo_actors.actors.keepalive import KeepaliveScheduler
from kazoo_actors.attempt_gate import AttemptGate
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.params import RegisterParams
from kazoo_actors.reconnect_policy import ReconnectPolicy

PROGRAM_CALLS = ["reconnect", "start_auto", "stop_auto", "monitor_on", "monitor_off"]
ENGINE_NEWS = ["online", "offline", "resumed", "call_work", "logout"]


@attrs.frozen
class Start:
    """Where the actor is when it reads its mailbox."""

    state: AccountState
    end: SessionEnd | None
    connected: bool
    resumable: bool
    auto_reconnect: bool
    explicit: bool
    monitor: bool
    online: bool
    series_reported: bool


ANY_START = st.builds(
    Start,
    state=st.sampled_from(list(AccountState)),
    end=st.sampled_from([None, SessionEnd.RECONNECT, SessionEnd.LOST]),
    connected=st.booleans(),
    resumable=st.booleans(),
    auto_reconnect=st.booleans(),
    explicit=st.booleans(),
    monitor=st.booleans(),
    online=st.booleans(),
    series_reported=st.booleans(),
)
FRESH = Start(
    state=AccountState.IDLE,
    end=None,
    connected=False,
    resumable=False,
    auto_reconnect=True,
    explicit=False,
    monitor=True,
    online=True,
    series_reported=False,
)


def _reachable() -> list[Start]:
    """The states a running actor reads its mailbox in (waiting implies auto-reconnect
    on and online: an off or offline command would have taken it down)."""
    starts = []
    for monitor, online in ((True, True), (True, False), (False, True)):
        for auto in (True, False):
            base = attrs.evolve(FRESH, monitor=monitor, online=online, auto_reconnect=auto)
            starts += [
                base,
                attrs.evolve(base, state=AccountState.CONNECTING, connected=True),
                attrs.evolve(base, state=AccountState.REGISTERED, connected=True),
                attrs.evolve(
                    base, state=AccountState.REGISTERED, connected=True, end=SessionEnd.LOST
                ),
                attrs.evolve(base, state=AccountState.DOWN, series_reported=True),
                attrs.evolve(base, state=AccountState.DOWN, series_reported=True, resumable=True),
                attrs.evolve(base, state=AccountState.LOGGED_OUT, end=SessionEnd.LOGGED_OUT),
            ]
    for monitor in (True, False):
        starts.append(
            attrs.evolve(
                FRESH,
                state=AccountState.WAITING,
                end=SessionEnd.LOST,
                monitor=monitor,
                resumable=True,
                series_reported=True,
            )
        )
    return starts


REACHABLE = _reachable()
STARTS = st.one_of(st.sampled_from(REACHABLE), ANY_START)


class _Connection:
    """Stands for an open transport: handlers only check there is one (sends are queued)."""


async def _forget(account_id: str) -> None:
    raise AssertionError("not called: nothing here logs out through the engine")


class Subject:
    """An actor that has not run, put in ``start``, with the program's handle on it."""

    def __init__(self, start: Start) -> None:
        params = RegisterParams(
            ws_url="ws://127.0.0.1:9/",
            realm="merge.test",
            private_identity="mo",
            public_identity="mo",
            password="pw",
        )
        self.feed = EventFeed(limit=10_000, unwatched_limit=10_000)
        self.actor = actor = AccountActor(
            params,
            name="mo@merge.test",
            feed=self.feed,
            gate=AttemptGate(1),
            policy=ReconnectPolicy.from_seed(),
            keepalive=KeepaliveScheduler(),
            rng=random.Random(7),
        )
        self.account = Account(actor, self.feed, id=actor.name, forget=_forget)
        self.logouts: list[trio.Event] = []
        actor.state = start.state
        actor._end = start.end
        actor._transport = _Connection() if start.connected else None  # type: ignore[assignment]
        actor._resumable = start.resumable
        actor._auto_reconnect = start.auto_reconnect
        actor._explicit = start.explicit
        actor.monitor_connectivity = start.monitor
        actor._online = start.online
        actor._series_reported = start.series_reported

    def post(self, name: str) -> None:
        """As the program (through ``Account``) or the engine posts it."""
        account, mailbox = self.account, self.actor.mailbox
        if name == "reconnect":
            account.reconnect()
        elif name == "start_auto":
            account.start_auto_reconnect()
        elif name == "stop_auto":
            account.stop_auto_reconnect()
        elif name in ("monitor_on", "monitor_off"):
            account.monitor_connectivity(name == "monitor_on")
        elif name in ("online", "offline"):
            mailbox.put_nowait(ConnectivityChanged(online=name == "online"))
        elif name == "resumed":
            mailbox.put_nowait(ResumedFromSleep())
        elif name == "call_work":
            mailbox.put_nowait(CallWork())
        else:
            done = trio.Event()
            self.logouts.append(done)
            mailbox.put_nowait(Logout(done))

    def handle(self) -> None:
        self.actor._run_commands(0.0)

    def outcome(self) -> dict[str, Any]:
        actor = self.actor
        return {
            "state": actor.state,
            "end": actor._end,
            "attempt": actor.attempt,
            "reconnect_attempts": actor.reconnect_attempts,
            "auto_reconnect": actor._auto_reconnect,
            "explicit": actor._explicit,
            "monitor": actor.monitor_connectivity,
            "online": actor._online,
            "series_reported": actor._series_reported,
            "timers": sorted(actor._timers),
            "queued_to_send": [type(item).__name__ for item in actor._deferred or ()],
            "logouts_answered": [done.is_set() for done in self.logouts],
            "logouts_held": len(actor._logouts or ()),
            "events": list(self.feed._items or ()),
        }


def one_at_a_time(start: Start, names: list[str]) -> dict[str, Any]:
    subject = Subject(start)
    for name in names:
        subject.post(name)
        subject.handle()
    return subject.outcome()


def merged(start: Start, names: list[str]) -> tuple[dict[str, Any], int]:
    subject = Subject(start)
    for name in names:
        subject.post(name)
    pending = len(subject.actor.mailbox)
    subject.handle()
    return subject.outcome(), pending


def test_every_short_sequence_in_every_reachable_state() -> None:
    # Exhaustive where random sequences are thin: three commands can already tell a
    # wrong rule (on, offline, on while waiting; on, logout, off while down).
    for length in range(1, 4):
        for names in itertools.product(PROGRAM_CALLS + ENGINE_NEWS, repeat=length):
            for start in REACHABLE:
                outcome, _ = merged(start, list(names))
                assert outcome == one_at_a_time(start, list(names)), (start, names)


@settings(max_examples=1500, deadline=None)
@given(
    start=STARTS,
    names=st.lists(st.sampled_from(PROGRAM_CALLS + ENGINE_NEWS), max_size=24),
)
def test_a_merged_batch_ends_as_the_commands_handled_one_by_one(
    start: Start, names: list[str]
) -> None:
    outcome, _ = merged(start, names)
    assert outcome == one_at_a_time(start, names)


@settings(max_examples=300, deadline=None)
@given(names=st.lists(st.sampled_from(PROGRAM_CALLS), max_size=200))
def test_program_calls_before_the_actor_runs_stay_few_and_change_nothing(
    names: list[str],
) -> None:
    outcome, pending = merged(FRESH, names)
    assert pending <= 7  # one Reconnect, four SetAutoReconnect, two SetMonitorConnectivity
    assert outcome == one_at_a_time(FRESH, names)


def test_reconnect_stop_reconnect_still_ends_with_an_attempt() -> None:
    for state in (AccountState.DOWN, AccountState.WAITING):
        start = attrs.evolve(FRESH, state=state, resumable=True)
        outcome, pending = merged(start, ["reconnect", "stop_auto", "reconnect"])
        assert pending == 2  # the second reconnect() changed nothing
        assert outcome["state"] is AccountState.IDLE  # the attempt is about to start
        assert outcome["attempt"] == 1 and outcome["auto_reconnect"] is False
        assert outcome == one_at_a_time(start, ["reconnect", "stop_auto", "reconnect"])


def test_stop_then_start_while_waiting_starts_the_attempt_at_once() -> None:
    # The latest value alone (start) would keep waiting out the delay.
    start = attrs.evolve(FRESH, state=AccountState.WAITING, resumable=True)
    for names in (["stop_auto", "start_auto"], ["stop_auto", "reconnect", "start_auto"]):
        outcome, _ = merged(start, names)
        assert outcome["state"] is AccountState.IDLE and outcome["attempt"] == 1
        assert outcome == one_at_a_time(start, names)


def test_a_reconnect_is_not_moved_behind_an_offline_change() -> None:
    # Moved behind it, the session would end as offline, with no new attempt.
    start = attrs.evolve(FRESH, state=AccountState.REGISTERED, connected=True)
    names = ["reconnect", "offline", "reconnect"]
    outcome, _ = merged(start, names)
    assert outcome["end"] is SessionEnd.RECONNECT
    assert outcome == one_at_a_time(start, names)


def _merged_commands(commands: list[Command]) -> list[Command]:
    pending = [commands[0]]
    for command in commands[1:]:
        merge_command(pending, command)
    return pending


ON, OFF = SetAutoReconnect(True), SetAutoReconnect(False)
MONITOR_ON, MONITOR_OFF = SetMonitorConnectivity(True), SetMonitorConnectivity(False)


def test_merge_rules() -> None:
    logouts: list[Command] = [Logout(trio.Event()), Logout(trio.Event())]
    cases: list[tuple[list[Command], list[Command]]] = [
        ([Reconnect(), OFF, Reconnect()], [Reconnect(), OFF]),
        ([CallWork(), Reconnect(), CallWork()], [CallWork(), Reconnect()]),
        ([ON, ON, ON], [ON]),
        ([ON, OFF, ON, OFF, ON], [OFF, ON]),
        ([ON, OFF], [ON, OFF]),
        ([OFF, ON, OFF, ON, OFF], [OFF, ON, OFF]),
        # a Reconnect or a Logout ends a run; right after one, the latest value alone
        ([OFF, Reconnect(), ON, OFF, ON], [OFF, Reconnect(), ON]),
        ([OFF, logouts[0], ON, OFF], [OFF, logouts[0], OFF]),
        # an off then an on of monitoring forgets an offline status: both kept
        ([MONITOR_ON, MONITOR_OFF, MONITOR_ON, MONITOR_ON], [MONITOR_OFF, MONITOR_ON]),
        ([MONITOR_OFF, MONITOR_ON, MONITOR_OFF], [MONITOR_OFF]),
        ([MONITOR_ON, ON, MONITOR_ON], [ON, MONITOR_ON]),
        (
            [MONITOR_OFF, ConnectivityChanged(False), MONITOR_ON],
            [MONITOR_OFF, ConnectivityChanged(False), MONITOR_ON],
        ),
        # connectivity news: only a repeat with no monitoring setting between goes
        (
            [ConnectivityChanged(False), Reconnect(), ConnectivityChanged(False)],
            [ConnectivityChanged(False), Reconnect()],
        ),
        (
            [ConnectivityChanged(False), ConnectivityChanged(True), ConnectivityChanged(False)],
            [ConnectivityChanged(False), ConnectivityChanged(True), ConnectivityChanged(False)],
        ),
        (
            [ConnectivityChanged(False), MONITOR_ON, ConnectivityChanged(False)],
            [ConnectivityChanged(False), MONITOR_ON, ConnectivityChanged(False)],
        ),
        ([ResumedFromSleep(), ON, ResumedFromSleep()], [ResumedFromSleep(), ON]),
        (
            [ResumedFromSleep(), MONITOR_ON, ResumedFromSleep()],
            [ResumedFromSleep(), MONITOR_ON, ResumedFromSleep()],
        ),
        (logouts, logouts),
    ]
    for commands, kept in cases:
        assert _merged_commands(commands) == kept, commands
