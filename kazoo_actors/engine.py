"""``open_engine``: the ``kazoo.init`` of kazoo-actors, and the ``Engine`` it yields.

The engine owns one supervisor (one_for_one) whose children are the account
actors, one engine-wide limiter on connection attempts in flight, and the
connectivity monitor. Accounts share no mutable state but their servers' latest
Digest nonces (``shared_challenges``, public values): each has its own actor,
socket, timers and events, so one account's crash, bad server data or raising
callback stays with it. A crashed account actor is restarted fresh after its
reconnect delay (so a crash loop cannot burn the supervisor's intensity for
everyone at the speed of the CPU).
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import socket
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import attrs
import trio

from kazoo_actors.account import Account
from kazoo_actors.actors.account import AccountActor
from kazoo_actors.actors.account_commands import ConnectivityChanged, ResumedFromSleep
from kazoo_actors.actors.child_spec import ChildSpec, RestartType, SupervisorSpec
from kazoo_actors.actors.connectivity import (
    ConnectivityMonitor,
    PathChanged,
    PathStatus,
    PathWatch,
)
from kazoo_actors.actors.keepalive import KeepaliveScheduler, KeepaliveStatistics
from kazoo_actors.actors.supervisor import Supervisor, SupervisorStatistics
from kazoo_actors.attempt_gate import AttemptGate, AttemptGateStatistics
from kazoo_actors.errors import MediaStackUnavailable
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.gc_tuning import collector_tuned, thaw_periodically
from kazoo_actors.params import RegisterParams
from kazoo_actors.reconnect_policy import ReconnectPolicy
from kazoo_actors.shared_challenges import SharedChallenges, SharedChallengeStatistics

DEFAULT_MAX_CONNECTING = 150
"""Connection attempts in flight engine-wide (connect, upgrade, first REGISTER outcome).

Measured here: 1,000 simultaneous connects overflow the server's listen backlog
and fall under 200 registrations/s on retries. Registering from cold, 50 and 150
gave the same rate; bringing 10,000 accounts back after a 10 s Kamailio outage
took 37-48 s with 50, 27-30 s with 150 and 22 s with 300 in flight.
"""


@attrs.frozen(kw_only=True)
class EngineStatistics:
    accounts: int
    states: dict[str, int]
    attempts: AttemptGateStatistics
    keepalive: KeepaliveStatistics
    supervisor: SupervisorStatistics
    challenges: SharedChallengeStatistics | None


class Engine:
    """Registers accounts; use it inside ``async with open_engine() as engine``."""

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        max_connecting: int,
        connect_timeout: float,
        pong_timeout: float,
        rng: random.Random | None,
        nursery: trio.Nursery,
        monitor: ConnectivityMonitor | None,
        keepalive: KeepaliveScheduler,
        challenges: SharedChallenges | None,
    ) -> None:
        self._keepalive = keepalive
        self._challenges = challenges
        self._supervisor = supervisor
        self._nursery = nursery
        self._monitor = monitor
        # One watch per server address, fanned out to that server's accounts:
        # a watch (and a task to read it) per account would cost every account.
        self._paths: dict[str, PathWatch] = {}
        self._addresses: dict[str, str] = {}
        self._gate = AttemptGate(max_connecting)
        self._connect_timeout = connect_timeout
        self._pong_timeout = pong_timeout
        # Identifiers (branch, tag, Call-ID, cnonce) need to be unique, not secret:
        # one seeded Mersenne Twister is many times cheaper than SystemRandom per char.
        self._rng = rng or random.Random()
        self._accounts: dict[str, Account] = {}
        self._policies: dict[tuple[int, int, str, float], ReconnectPolicy] = {}
        self._ids = itertools.count(1)
        # One bound method for every Account, not one made (and kept) per account.
        self._forget_account = self._forget

    async def register(self, params: RegisterParams) -> Account:
        """Start an account; it connects and registers in the background.

        Returns at once with the ``Account``; ``on_connected`` / ``events()``
        tell when it is registered, ``on_error`` when it could not be.
        """
        if params.force_rtmp or params.ws_url is None:
            raise MediaStackUnavailable(
                "the RTMP media stack is not available yet: give ws_url and leave "
                "force_rtmp off to register over WebSocket"
            )
        account_id = f"{params.user}@{params.realm}#{next(self._ids)}"
        address = None
        if self._monitor is not None:
            # Thousands of accounts share a few servers: a watched one needs no coroutine.
            address = self._addresses.get(params.ws_url)
            if address is None or address not in self._paths:
                address = await self._watch_path(params.ws_url)
        feed = EventFeed()
        actor = self._new_actor(params, account_id, feed)
        account = Account(actor, feed, id=account_id, forget=self._forget_account, address=address)
        spec = ChildSpec(
            id=account_id,
            start=_AccountStart(self, account),
            restart=RestartType.TRANSIENT,
            shutdown=2.0,
        )
        self._accounts[account_id] = account
        # Not ``await supervisor.start_child``: it waits for the child's first scheduling
        # round, and a program registering thousands of accounts in a loop would pay one
        # round per account. The actor exists already, so the Account is usable (commands
        # queue in its mailbox) before its task runs.
        self._supervisor.start_child_nowait(spec)
        return account

    def _start_account(
        self, account: Account, *, task_status: trio.TaskStatus[Any]
    ) -> Coroutine[Any, Any, None]:
        # A plain function handing the supervisor the actor's own coroutine: an async
        # wrapper would add a frame to every account's task and to every wake-up.
        actor = account._actor
        if actor.finished:
            # A restart after a crash: a fresh actor, after a pause like a reconnect's.
            params = actor.params
            actor = self._new_actor(params, account.id, account._feed)
            account._replace_actor(actor)
            return self._restart(actor, params.reconnect_delay_s, account.address, task_status)
        self._tell_offline(actor, account.address)
        return actor.run(task_status=task_status)

    async def _restart(
        self,
        actor: AccountActor,
        delay: float,
        address: str | None,
        task_status: trio.TaskStatus[Any],
    ) -> None:
        await trio.sleep(delay)
        self._tell_offline(actor, address)
        await actor.run(task_status=task_status)

    def _tell_offline(self, actor: AccountActor, address: str | None) -> None:
        """An account that starts while its server's path is down learns it first."""
        watch = self._paths.get(address) if address else None
        if watch is not None and watch.status is PathStatus.OFFLINE:
            actor.mailbox.put_nowait(ConnectivityChanged(online=False))

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    async def _watch_path(self, ws_url: str) -> str | None:
        """Start watching the path to the server of ``ws_url``; its IP address, or None."""
        if self._monitor is None:
            return None
        # Thousands of accounts share a few server URLs: look each up once. The address
        # only chooses the network path to watch, so a name is resolved once per engine.
        address = self._addresses.get(ws_url)
        if address is None:
            host = urlsplit(ws_url).hostname or ""
            try:
                address = str(ipaddress.ip_address(host))
            except ValueError:
                try:
                    infos = await trio.socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                except OSError:
                    return None  # the connection attempt will report it
                address = str(infos[0][4][0])
            self._addresses[ws_url] = address
        if address not in self._paths:
            watch = self._monitor.watch(address)
            self._paths[address] = watch
            self._nursery.start_soon(self._fan_out, address, watch)
        return address

    async def _fan_out(self, address: str, watch: PathWatch) -> None:
        async for event in watch:
            if isinstance(event, PathChanged):
                self._tell(address, ConnectivityChanged(online=event.status is PathStatus.ONLINE))
            else:
                # Back from sleep: connections of this server are probably dead.
                self._tell(address, ResumedFromSleep())

    def _tell(self, address: str, command: ConnectivityChanged | ResumedFromSleep) -> None:
        for account in self._accounts.values():
            if account.address == address:
                account._post(command)  # never refused: the change is not lost

    def statistics(self) -> EngineStatistics:
        states = Counter(a.state.value for a in self._accounts.values())
        return EngineStatistics(
            accounts=len(self._accounts),
            states=dict(states),
            attempts=self._gate.statistics(),
            keepalive=self._keepalive.statistics(),
            supervisor=self._supervisor.statistics(),
            challenges=None if self._challenges is None else self._challenges.statistics(),
        )

    def _new_actor(self, params: RegisterParams, account_id: str, feed: EventFeed) -> AccountActor:
        return AccountActor(
            params,
            name=account_id,
            feed=feed,
            gate=self._gate,
            keepalive=self._keepalive,
            policy=self._policy(params),
            connect_timeout=self._connect_timeout,
            pong_timeout=self._pong_timeout,
            rng=self._rng,
            challenges=self._challenges,
        )

    def _policy(self, params: RegisterParams) -> ReconnectPolicy:
        """Policies are frozen values: accounts with the same settings share one."""
        key = (
            params.reconnect_max_attempts,
            params.reconnect_delay,
            params.reconnect_backoff,
            params.reconnect_backoff_cap,
        )
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = ReconnectPolicy.from_seed(
                params.reconnect_max_attempts,
                params.reconnect_delay,
                backoff=params.reconnect_backoff == "exponential",
                backoff_cap=params.reconnect_backoff_cap,
            )
        return policy

    async def _forget(self, account_id: str) -> None:
        # Usually the child has left already: a logged-out actor ends its task normally,
        # and its transient child spec lets the supervisor forget it.
        if self._accounts.pop(account_id, None) is not None and account_id in self._supervisor:
            await self._supervisor.terminate_child(account_id)


class _AccountStart:
    """An account's ``ChildSpec.start``: two slots, where a closure or a partial held a
    function and a cell per captured variable (~300 bytes more per account)."""

    __slots__ = ("account", "engine")

    def __init__(self, engine: Engine, account: Account) -> None:
        self.engine = engine
        self.account = account

    def __call__(self, *, task_status: trio.TaskStatus[Any]) -> Coroutine[Any, Any, None]:
        return self.engine._start_account(self.account, task_status=task_status)


@asynccontextmanager
async def open_engine(
    *,
    force_rtmp: bool = False,
    max_connecting: int = DEFAULT_MAX_CONNECTING,
    connect_timeout: float = 10.0,
    pong_timeout: float = 10.0,
    rng: random.Random | None = None,
    monitor_connectivity: bool = True,
    connectivity_period: float = 1.0,
    tune_gc: bool = False,
    share_challenges: bool | SharedChallenges = True,
) -> AsyncIterator[Engine]:
    """Start the engine; leaving the block stops every account (without unregistering).

    ``force_rtmp=True`` raises ``MediaStackUnavailable``: the RTMP fallback is
    not built yet. Call ``account.logout()`` first for a clean unregister.
    A server that misses a keep-alive pong for ``pong_timeout`` seconds is
    taken for dead (detection within keepalive_interval + pong_timeout, plus up
    to two seconds: the keep-alive scheduler works in one-second slots).
    ``monitor_connectivity=False`` runs no connectivity monitor at all (each
    account can still turn its own notifications off).
    ``tune_gc=True`` raises CPython's garbage-collector thresholds and freezes
    settled objects while the engine runs, walking only one young collection in
    eight, with a full collection every two minutes or less often (see
    ``kazoo_actors.gc_tuning``: the collector's walks over settled accounts cost
    up to a fifth of the CPU of registering thousands).
    It changes settings of the whole process, so a library leaves it off by
    default; the command-line tools, which own their process, turn it on.
    ``share_challenges`` lets an account send credentials in its first REGISTER
    for a nonce another account of the same server registered with in the last
    30 s (see ``kazoo_actors.shared_challenges``): one round trip instead of two
    when the server accepts it, the usual challenge when it does not. Pass a
    ``SharedChallenges`` instead of True to choose how long a nonce is offered.
    """
    if force_rtmp:
        raise MediaStackUnavailable("force_rtmp: the RTMP media stack is not available yet")
    supervisor = Supervisor(
        # Accounts restart independently; the intensity is per engine, and a
        # restarted account waits its reconnect delay first, so only a real
        # engine-wide fault (hundreds of crashes a minute) makes it give up.
        SupervisorSpec(strategy="one_for_one", intensity=1000, period=60.0),
        name="engine",
    )
    with collector_tuned() if tune_gc else nullcontext():
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            if tune_gc:
                nursery.start_soon(thaw_periodically)
            monitor = None
            if monitor_connectivity:
                monitor = await nursery.start(ConnectivityMonitor(period=connectivity_period).run)
            keepalive = await nursery.start(KeepaliveScheduler().run)
            engine = Engine(
                supervisor,
                keepalive=keepalive,
                max_connecting=max_connecting,
                connect_timeout=connect_timeout,
                pong_timeout=pong_timeout,
                rng=rng,
                nursery=nursery,
                monitor=monitor,
                challenges=_shared_challenges(share_challenges),
            )
            try:
                yield engine
            finally:
                supervisor.shutdown()
                nursery.cancel_scope.cancel()


def _shared_challenges(setting: bool | SharedChallenges) -> SharedChallenges | None:
    if isinstance(setting, SharedChallenges):
        return setting
    return SharedChallenges() if setting else None
