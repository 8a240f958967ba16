"""The account actor: one task that keeps one account registered, reconnects it, reports.

Why one task per account, holding its transport, registration and transaction
roles as objects rather than as tasks of their own: the engine must keep
10,000 accounts registered in at most 20 KB each, and on these machines a Trio
task costs about 1.8 KB and a memory channel about 1.9 KB. So the actor waits
in exactly one place (``_wait``): its socket, with a deadline at the earliest
of its timers, interruptible by its ``Mailbox`` (commands from ``Account``
and from the engine's connectivity monitor). For a plain ``ws://`` socket that
wait is a ``Mailbox.park`` that the run's ``ReadinessPoller`` ends (socket
news or the deadline) as a command does: no cancel scope per wait.

Lifecycle (the seed's rules): connect and register; when the connection is
lost or cannot be made, ask the reconnect policy for the next delay, announce
each attempt with ``reconnecting_notification``, stop as soon as one succeeds;
refused credentials, 403 and a replaced registration end the series until the
program calls ``reconnect()``. A connection attempt (connect, upgrade and the
first REGISTER outcome) holds a slot of the engine-wide limiter, which bounds
attempts in flight so that a restarted server is not stampeded.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Any

import attrs
import trio
from sipmessage import Request, Response

from kazoo_actors import events
from kazoo_actors.actors.account_commands import (
    Command,
    ConnectivityChanged,
    Logout,
    Reconnect,
    ResumedFromSleep,
    SetAutoReconnect,
    SetMonitorConnectivity,
)
from kazoo_actors.actors.account_state import (
    RESUMABLE_ENDS,
    AccountState,
    AccountStatistics,
    SessionEnd,
)
from kazoo_actors.actors.call_router import CallRouter, CallWork
from kazoo_actors.actors.command_merging import merge_command
from kazoo_actors.actors.keepalive import KeepaliveScheduler
from kazoo_actors.actors.mailbox import Mailbox
from kazoo_actors.actors.readiness_poller import ReadinessPoller
from kazoo_actors.actors.registration import Outcome, RegistrationResult, RegistrationRole
from kazoo_actors.actors.server_requests import answer_request
from kazoo_actors.actors.sip_endpoint import (
    FinalResponse,
    IncomingRequest,
    ProvisionalResponse,
    RequestFailed,
    SipEndpoint,
)
from kazoo_actors.actors.transport import (
    SipTransport,
    TransportError,
    TransportStatistics,
    WatchedUpgrade,
    connect,
    start_watched,
)
from kazoo_actors.actors.voicemail import VoicemailRole
from kazoo_actors.attempt_gate import AttemptGate
from kazoo_actors.callbacks import PendingCallback, call_callback
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.params import RegisterParams
from kazoo_actors.reconnect_policy import ReconnectPolicy
from kazoo_actors.shared_challenges import SharedChallenges
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.replies import response_to

log = logging.getLogger("kazoo_actors.account")

_KEEPALIVE_DEAD = 2
_PING_NEEDED = 1

LOGOUT_TIMEOUT = 5.0
"""Seconds a logout waits for the registrar to confirm Expires: 0."""


class AccountActor:
    __slots__ = (
        "_auto_reconnect",
        "_call_owner",
        "_calls",
        "_challenges",
        "_deferred",
        "_end",
        "_endpoint",
        "_explicit",
        "_feed",
        "_gate",
        "_keepalive",
        "_keepalive_news",
        "_logouts",
        "_online",
        "_policy",
        "_registration",
        "_resumable",
        "_rng",
        "_series_reported",
        "_stats",
        "_timers",
        "_transport",
        "_voicemail",
        "attempt",
        "attempt_started_at",
        "connect_failures",
        "connect_timeout",
        "finished",
        "mailbox",
        "monitor_connectivity",
        "name",
        "params",
        "pong_timeout",
        "reconnect_attempts",
        "registrations",
        "state",
    )

    def __init__(
        self,
        params: RegisterParams,
        *,
        name: str,
        feed: EventFeed,
        gate: AttemptGate,
        policy: ReconnectPolicy,
        keepalive: KeepaliveScheduler,
        connect_timeout: float = 10.0,
        pong_timeout: float = 10.0,
        rng: random.Random | None = None,
        challenges: SharedChallenges | None = None,
    ) -> None:
        self.params = params
        self.name = name
        self.mailbox: Mailbox[Command] = Mailbox(merge_command)
        self.state = AccountState.IDLE
        self.attempt = 0
        self.attempt_started_at = math.nan
        self.registrations = 0
        self.reconnect_attempts = 0
        self.connect_failures = 0
        self.connect_timeout = connect_timeout
        self.pong_timeout = pong_timeout
        self.monitor_connectivity = params.monitor_connectivity
        self.finished = False
        self._feed = feed
        self._gate = gate
        self._keepalive = keepalive
        self._challenges = challenges
        self._keepalive_news = 0
        self._policy = policy
        self._rng = rng or random.Random()
        self._auto_reconnect = policy.auto_enabled
        self._explicit = False
        self._online = True
        self._registration = RegistrationRole(params, rng=rng)
        self._endpoint = SipEndpoint(account=name)
        self._voicemail = (
            VoicemailRole(params, account=name, rng=rng) if params.subscribe_voicemail else None
        )
        # Made on first use (``calls``): most accounts never call, and a router per
        # account kept five more objects alive for the cyclic GC to traverse.
        self._calls: CallRouter | None = None
        self._call_owner: trio.Nursery | None = None
        self._transport: SipTransport | None = None
        self._timers: dict[str, float] = {}
        self._end: SessionEnd | None = None
        # Made by the first logout: most accounts never need the list.
        self._logouts: list[trio.Event] | None = None
        self._deferred: list[Request | Response | PendingCallback] | None = None
        self._series_reported = False
        self._resumable = False
        self._stats = TransportStatistics()

    @property
    def calls(self) -> CallRouter:
        """The account's calls; the router is made by the first call or call setting."""
        if self._calls is None:
            self._calls = CallRouter(
                account=self.name,
                params=self.params,
                feed=self._feed,
                wake=self._wake_for_calls,
                # Bound methods, not lambdas: a lambda keeps a function, its closure tuple
                # and a cell per account alive, all traversed by the cyclic GC.
                contact=self._contact,
                registered=self._is_registered,
                rng=self._rng,
            )
            if self._call_owner is not None:
                self._calls.attach(self._call_owner)
        return self._calls

    def _contact(self) -> str:
        return self._registration.contact

    def _is_registered(self) -> bool:
        return self.state is AccountState.REGISTERED

    @property
    def logged_out(self) -> bool:
        return self.state is AccountState.LOGGED_OUT

    # -- the task ---------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self)
        # Call tasks belong to the nursery that owns this task (see CallRouter.attach);
        # a router made later, at the first call, is attached to it then.
        self._call_owner = trio.lowlevel.current_task().parent_nursery
        if self._calls is not None:
            self._calls.attach(self._call_owner)
        try:
            try:
                # The lifecycle inline, not in a coroutine of its own: every wake-up of
                # the account resumes each frame of its task's stack.
                while True:
                    if self.state is AccountState.DOWN:
                        if await self._wait_commands(math.inf):
                            return
                        continue
                    end = await self._session()
                    if end is SessionEnd.LOGGED_OUT or self.logged_out:
                        return
                    await self._after_session(end)
                    if self.logged_out:
                        return
            finally:
                # Every call ends before the account's task does.
                self._call_owner = None
                if self._calls is not None:
                    await self._calls.close()
        finally:
            self.finished = True
            await self._close_transport()
            logouts = self._logouts or []
            self._logouts = None
            # A logout posted while the task was ending (a crash, say) was never read:
            # its caller waits all the same. ``finished`` keeps any later one from posting.
            logouts += [c.done for c in self.mailbox.take_all() if isinstance(c, Logout)]
            for done in logouts:
                done.set()
            self._feed.close()

    async def _after_session(self, end: SessionEnd) -> None:
        """Report how the session ended, then wait for the next attempt or go down."""
        if end is SessionEnd.RECONNECT:
            self._announce_attempt()
            await self._flush()
            return
        if end is SessionEnd.UNAUTHORIZED:
            self._emit(events.error("unauthorized", code=401, account=self.name))
        elif end is SessionEnd.FORBIDDEN:
            self._emit(events.error("forbidden", code=403, account=self.name))
        elif not self._series_reported and end is SessionEnd.LOST:
            self._emit(events.error("disconnected", account=self.name))
        elif not self._series_reported and end in (SessionEnd.UNREACHABLE, SessionEnd.REJECTED):
            self._emit(events.error("server_not_reachable", account=self.name))
        await self._flush()
        self._series_reported = True
        self._resumable = end in RESUMABLE_ENDS
        retryable = end in (SessionEnd.LOST, SessionEnd.UNREACHABLE, SessionEnd.REJECTED)
        if not retryable or not self._auto_reconnect or not self._online:
            self.state = AccountState.DOWN
            return
        if not self._policy.allows_another(self.attempt, explicitly_started=self._explicit):
            log.info("account %s: reconnect attempts exhausted", self.name)
            self.state = AccountState.DOWN
            return
        delay = self._policy.delay_before(self.attempt + 1, self._rng)
        self.state = AccountState.WAITING
        if await self._wait_commands(trio.current_time() + delay):
            return
        if self.state is AccountState.WAITING:
            self._announce_attempt()
            await self._flush()

    def _announce_attempt(self) -> None:
        self.attempt += 1
        self.reconnect_attempts += 1
        self.state = AccountState.IDLE
        self._emit(
            events.notification(
                "reconnecting_notification", account=self.name, attempt=self.attempt
            )
        )

    async def _wait_commands(self, deadline: float) -> bool:
        """Sleep until ``deadline`` or until a command changes the state; True when logged out."""
        state = self.state
        now = trio.current_time()
        while self.state is state and now < deadline:
            with self.mailbox.interruptible(deadline):
                await trio.sleep_forever()
            now = trio.current_time()
            if self._run_commands(now):
                await self._flush()
            if self.state is AccountState.LOGGED_OUT:
                return True
        return False

    # -- one connection -----------------------------------------------------------

    async def _session(self) -> SessionEnd:
        self.state = AccountState.CONNECTING
        self._end = None
        gate = self._gate
        try:
            # The slot covers connect, upgrade and the first REGISTER's outcome. Taken and
            # given back by plain calls: ``async with gate.slot()`` cost two coroutines.
            if not gate.enter_nowait():
                await gate.enter()
            try:
                self.attempt_started_at = now = trio.current_time()
                transport = await self._connect(now)
                if transport is None:
                    self.connect_failures += 1
                    return self._end or SessionEnd.UNREACHABLE
                self._transport = transport
                self._keepalive.add(transport, self)
                now = trio.current_time()
                if self._challenges is not None:
                    shared = self._challenges.offer(
                        self.params.ws_url or "", self.params.realm, now
                    )
                    if shared is not None:
                        self._registration.adopt_challenge(shared)
                self._perform_registration(self._registration.register(now), now)
                await self._flush()
                while self._end is None and self.state is AccountState.CONNECTING:
                    await self._wait(transport)
            finally:
                gate.leave()
            while self._end is None:
                await self._wait(transport)
            return self._end
        finally:
            await self._close_transport()

    async def _connect(self, now: float) -> SipTransport | None:
        assert self.params.ws_url is not None  # the engine refuses accounts without one
        deadline = now + self.connect_timeout
        poller = ReadinessPoller.current()
        if poller is not None:
            try:
                upgrade = start_watched(
                    self.params.ws_url,
                    poller=poller,
                    owner=self.mailbox,
                    account=self.name,
                    keepalive_interval=self.params.keepalive_interval,
                    pong_timeout=self.pong_timeout,
                    stats=self._stats,
                )
            except TransportError as exc:
                log.info("account %s: %s", self.name, exc)
                return None
            if upgrade is not None:
                return await self._upgrade(upgrade, now, deadline)
        # A stream (wss://, a host name): its connect is one cancellable wait.
        transport: SipTransport | None = None
        while transport is None and now < deadline and self._end is None:
            with self.mailbox.interruptible(deadline):
                try:
                    transport = await connect(
                        self.params.ws_url,
                        account=self.name,
                        verify_tls=self.params.verify_tls,
                        keepalive_interval=self.params.keepalive_interval,
                        pong_timeout=self.pong_timeout,
                        stats=self._stats,
                    )
                except TransportError as exc:
                    log.info("account %s: %s", self.name, exc)
                    return None
            now = trio.current_time()
            if self._run_commands(now):
                await self._flush()
        if transport is not None and self._end is not None:
            await transport.aclose()
            return None
        return transport

    async def _upgrade(
        self, upgrade: WatchedUpgrade, now: float, deadline: float
    ) -> SipTransport | None:
        """Wait in the poller for the server's answer, handling commands meanwhile."""
        watch = upgrade.watch
        transport = None
        try:
            while True:
                if watch.ready:
                    transport = upgrade.advance(now)
                    if transport is not None:
                        return transport
                if self._end is not None or now >= deadline:
                    return None
                await self.mailbox.park(deadline, watch.poller)
                now = trio.current_time()
                if self._run_commands(now):
                    await self._flush()
        except TransportError as exc:
            log.info("account %s: %s", self.name, exc)
            return None
        finally:
            if transport is None:
                upgrade.abandon()

    async def _wait(self, transport: SipTransport) -> None:
        deadline = min(self._timers.values(), default=math.inf)
        inbound = None
        watch = transport.watch
        # One clock read per wake-up, for everything this wake-up does.
        if self._keepalive_news:
            now = trio.current_time()
        elif watch is not None:
            if watch.ready:
                await trio.lowlevel.checkpoint()  # news came while we were busy
            else:
                await self.mailbox.park(deadline, watch.poller)
            now = trio.current_time()
            if watch.ready:
                inbound = await transport.receive_ready(now)
        else:
            with self.mailbox.interruptible(deadline):
                inbound = await transport.receive()
                while not inbound.messages and not inbound.closed:
                    # A pong (the transport noted it): keep waiting in the same scope
                    # rather than going round the whole loop for every keep-alive.
                    inbound = await transport.receive()
            now = trio.current_time()
        if inbound is not None:
            for message in inbound.messages:
                self._receive(message, now)
            if inbound.closed and self._end is None:
                log.info("account %s: the server closed the connection", self.name)
                self._lost()
        if deadline <= now:
            for name, due in list(self._timers.items()):
                if due <= now and self._timers.get(name) == due:
                    del self._timers[name]
                    self._timer_fired(name, now)
        if self._keepalive_news:
            await self._keepalive_work(transport)
        if self.mailbox:
            self._run_commands(now)  # flushed with the rest below
        calls = self._calls
        if calls is not None and calls.has_outbound:  # seldom: most wake-ups, nothing to send
            self._perform(calls.outbound(self._endpoint), now)
        if self._deferred:
            await self._flush()

    def _run_commands(self, now: float) -> bool:
        """Handle every queued command; whether they left anything to ``_flush``."""
        for command in self.mailbox.take_all():
            self._command(command, now)
        return self._deferred is not None

    def _wake_for_calls(self) -> None:
        # Merged away when one is pending already: every wake drains the calls' queue.
        self.mailbox.put_nowait(CallWork())

    # Called by the engine's KeepaliveScheduler (from its task): note it and wake us.

    def keepalive_failed(self) -> None:
        self._keepalive_news = _KEEPALIVE_DEAD
        self.mailbox.wake()

    def keepalive_ping_needed(self) -> None:
        self._keepalive_news = self._keepalive_news or _PING_NEEDED
        self.mailbox.wake()

    async def _keepalive_work(self, transport: SipTransport) -> None:
        news, self._keepalive_news = self._keepalive_news, 0
        if self._end is not None:
            return
        if news == _KEEPALIVE_DEAD:
            self._lost()
            return
        try:
            await transport.ping()
        except TransportError:
            self._lost()

    def _lost(self) -> None:
        registered = self.state is AccountState.REGISTERED
        self._end = SessionEnd.LOST if registered else SessionEnd.UNREACHABLE

    def _receive(self, message: Request | Response, now: float) -> None:
        try:
            outputs = self._endpoint.receive(message)
            self._perform(outputs, now)
        except (ParseError, LocalProtocolError, ValueError) as exc:
            # Bad data from the server costs one message, never the account.
            log.warning("account %s: dropped a message it could not handle: %s", self.name, exc)

    def _timer_fired(self, name: str, now: float) -> None:
        if name == "logout":
            self._end = SessionEnd.LOGGED_OUT
        elif self._registration.owns_timer(name):
            self._perform_registration(self._registration.timer_fired(name, now), now)
        elif self._voicemail is not None and self._voicemail.owns_timer(name):
            contact = self._registration.contact
            self._perform_requests(self._voicemail.timer_fired(name, now, contact), now)
        else:
            self._perform(self._endpoint.timer_fired(name), now)

    def _perform_registration(
        self,
        step: tuple[list[Send | StartTimer | CancelTimer], list[RegistrationResult]],
        now: float,
    ) -> None:
        actions, results = step
        self._perform_requests(actions, now)
        for result in results:
            self._registration_result(result, now)

    def _perform_requests(self, actions: list[Send | StartTimer | CancelTimer], now: float) -> None:
        """Actions of a usage: each request it sends runs in a client transaction."""
        items: list[Any] = actions  # dispatched on the exact (final) class, as in _perform
        for action in items:
            kind = type(action)
            if kind is Send:
                message = action.message
                if isinstance(message, Request):
                    self._perform(self._endpoint.send_request(message), now)
                else:
                    self._send(message)
            elif kind is StartTimer:
                self._timers[action.name] = now + action.seconds
            elif kind is CancelTimer:
                self._timers.pop(action.name, None)
            else:
                raise TypeError(f"unexpected action {action!r}")

    def _perform(self, outputs: list[Any], now: float) -> None:
        """What the transaction layer asks for; ``now`` is the time of this wake-up."""
        # Dispatch on the exact class (these are final attrs classes): one type() call
        # instead of an isinstance chain per item, on every message of every account.
        for item in outputs:
            kind = type(item)
            if kind is Send:
                self._send(item.message)
            elif kind is StartTimer:
                self._timers[item.name] = now + item.seconds
            elif kind is CancelTimer:
                self._timers.pop(item.name, None)
            elif kind is IncomingRequest:
                self._incoming(item.request, now)
            else:  # FinalResponse, ProvisionalResponse or RequestFailed
                self._outcome(item, now)

    def _outcome(
        self, item: FinalResponse | ProvisionalResponse | RequestFailed, now: float
    ) -> None:
        """A response to (or the failure of) a request a usage sent: to that usage."""
        method = item.request.method
        if method == "REGISTER":
            if type(item) is FinalResponse:
                self._perform_registration(
                    self._registration.final_response(item.response, now), now
                )
                if self._registration.take_adoption_refused() and self._challenges is not None:
                    self._challenges.refused(self.params.ws_url or "", self.params.realm)
            elif type(item) is RequestFailed:
                self._perform_registration(
                    self._registration.request_failed(item.code, item.reason, now), now
                )
        elif method == "SUBSCRIBE" and self._voicemail is not None:
            if type(item) is FinalResponse:
                self._perform_requests(self._voicemail.final_response(item.response, now), now)
            elif type(item) is RequestFailed:
                self._perform_requests(self._voicemail.request_failed(item.code, now), now)
        elif self._calls is not None:
            self._calls.route(item)

    def _send(self, message: Request | Response) -> None:
        if self._transport is None or self._end is not None:
            return
        self._defer(message)

    def _defer(self, item: Request | Response | PendingCallback) -> None:
        if self._deferred is None:
            self._deferred = [item]
        else:
            self._deferred.append(item)

    async def _flush(self) -> None:
        """Send what the handlers queued and finish async callbacks, in the order they came.

        The handlers of a message, a timer or a command are synchronous: most of them
        (the 200 to a REGISTER above all) send nothing, and a coroutine per step cost
        every account more than this one await at the end of the wake-up.
        """
        deferred, self._deferred = self._deferred, None
        if deferred is None:
            return
        sending = True
        for item in deferred:
            if isinstance(item, PendingCallback):
                await item.finish()
            elif sending and self._transport is not None:
                try:
                    # SipTransport.send, spelled out: its coroutine per message is
                    # needed only when the kernel did not take the message at once.
                    if not self._transport.send_nowait(item):
                        await self._transport.flush()
                except TransportError as exc:
                    log.info("account %s: send failed: %s", self.name, exc)
                    self._lost()
                    sending = False  # as _send does once the session has ended

    def _incoming(self, request: Request, now: float) -> None:
        if self._voicemail is not None and self._voicemail.claims(request):
            answer_mwi = self._voicemail.receive_notify(request, now)
            self._perform(
                self._endpoint.respond(request, response_to(request, answer_mwi.code)), now
            )
            self._perform_requests(answer_mwi.actions, now)
            for notification in answer_mwi.events:
                self._emit(self._with_account(notification))
            return
        if self.calls.claims(request):
            self._perform(self.calls.incoming(request, self._endpoint), now)
            return
        answer = answer_request(request)
        self._perform(self._endpoint.respond(request, answer.response), now)
        for event in answer.events:
            self._emit(self._with_account(event))
        if answer.replaced and self._end is None:
            self._end = SessionEnd.REPLACED

    def _registration_result(self, result: RegistrationResult, now: float) -> None:
        if result.outcome is Outcome.REGISTERED:
            accepted = self._registration.take_accepted_challenge()
            if accepted is not None and self._challenges is not None:
                self._challenges.learn(self.params.ws_url or "", accepted, now)
            if self.state is not AccountState.REGISTERED:
                self.state = AccountState.REGISTERED
                self.registrations += 1
                self.attempt = 0
                self._series_reported = False
                self._emit(events.Connected(account=self.name, expires=result.expires or 0))
                if self._voicemail is not None:
                    self._perform_requests(
                        self._voicemail.subscribe(now, self._registration.contact), now
                    )
        elif result.outcome is Outcome.UNREGISTERED:
            if self._logouts:
                self._end = SessionEnd.LOGGED_OUT
        elif self._end is None:
            log.info(
                "account %s: registration failed: %s %s", self.name, result.code, result.reason
            )
            was_registered = self.state is AccountState.REGISTERED
            self._end = {
                Outcome.UNAUTHORIZED: SessionEnd.UNAUTHORIZED,
                Outcome.FORBIDDEN: SessionEnd.FORBIDDEN,
            }.get(result.outcome, SessionEnd.LOST if was_registered else SessionEnd.REJECTED)

    # -- commands -----------------------------------------------------------------

    def _command(self, command: Command, now: float) -> None:
        if isinstance(command, Logout):
            self._logout(command.done, now)
        elif isinstance(command, Reconnect):
            if self.state in (AccountState.CONNECTING, AccountState.REGISTERED):
                self._end = self._end or SessionEnd.RECONNECT
            elif self.state in (AccountState.DOWN, AccountState.WAITING):
                self._series_reported = False
                self._announce_attempt()
        elif isinstance(command, SetAutoReconnect):
            self._auto_reconnect = command.enabled
            self._explicit = command.enabled
            if not command.enabled and self.state is AccountState.WAITING:
                self.state = AccountState.DOWN
            elif command.enabled and self.state is AccountState.DOWN and self._resumable:
                self._announce_attempt()
        elif isinstance(command, SetMonitorConnectivity):
            self.monitor_connectivity = command.enabled
            if not command.enabled:
                self._online = True
        elif isinstance(command, ConnectivityChanged):
            self._connectivity(command.online)
        elif (
            isinstance(command, ResumedFromSleep)
            and self.monitor_connectivity
            and self.state in (AccountState.CONNECTING, AccountState.REGISTERED)
        ):
            self._end = self._end or SessionEnd.RECONNECT

    def _connectivity(self, online: bool) -> None:
        if not self.monitor_connectivity or online == self._online:
            return
        self._online = online
        self._emit(events.connectivity("online" if online else "offline", account=self.name))
        if not online:
            if self.state in (AccountState.CONNECTING, AccountState.REGISTERED):
                self._end = self._end or SessionEnd.OFFLINE
            elif self.state is AccountState.WAITING:
                self.state = AccountState.DOWN
            self._series_reported = True  # offline already told the program
        elif self.state is AccountState.DOWN and self._auto_reconnect and self._resumable:
            self._announce_attempt()

    def _logout(self, done: trio.Event, now: float) -> None:
        if self._logouts is None:
            self._logouts = [done]
        else:
            self._logouts.append(done)
        if self.state is AccountState.LOGGED_OUT:
            done.set()
            return
        if self._transport is not None and self._end is None:
            # Calls send their BYE/CANCEL while the un-REGISTER is in flight.
            if self._calls is not None:
                self._calls.hangup_all()
            self._timers["logout"] = now + LOGOUT_TIMEOUT
            self.state = AccountState.LOGGED_OUT
            if self._voicemail is not None:
                self._perform_requests(self._voicemail.unsubscribe(now), now)
            self._perform_registration(self._registration.unregister(now), now)
        else:
            self.state = AccountState.LOGGED_OUT
            self._end = SessionEnd.LOGGED_OUT
        self._emit(events.LoggedOut(account=self.name))

    # -- reporting --------------------------------------------------------------------

    def _with_account(self, event: events.AccountEvent) -> events.AccountEvent:
        return event if event.account else attrs.evolve(event, account=self.name)

    def _emit(self, event: events.AccountEvent) -> None:
        self._feed.publish(event)
        params = self.params
        if isinstance(event, events.Error):
            callback, name = params.on_error, "on_error"
        elif isinstance(event, events.Notification):
            callback, name = params.on_notified, "on_notified"
        elif isinstance(event, events.Connected):
            callback, name = params.on_connected, "on_connected"
        else:
            return
        called = call_callback(callback, event, account=self.name, name=name)
        if type(called) is PendingCallback:
            self._defer(called)

    async def _close_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is None:
            return
        for name in [n for n in self._timers if n != "logout"]:
            del self._timers[name]
        self._keepalive.forget(transport)
        self._keepalive_news = 0
        self._endpoint.transport_lost()
        if self._voicemail is not None:
            self._voicemail.connection_lost()  # its timers went with the others above
        if self._calls is not None:
            self._calls.connection_lost()
        self._registration.transport_reset(trio.current_time())
        if not transport.close_nowait():
            with trio.CancelScope(shield=True):
                await transport.aclose()
        if self.state is AccountState.REGISTERED:
            self.state = AccountState.IDLE

    def statistics(self) -> AccountStatistics:
        stats = self._stats
        return AccountStatistics(
            state=self.state.value,
            registrations=self.registrations,
            reconnect_attempts=self.reconnect_attempts,
            connect_failures=self.connect_failures,
            malformed_dropped=stats.malformed_dropped,
            messages_sent=stats.messages_sent,
            messages_received=stats.messages_received,
            open_transactions=len(self._endpoint),
            running_timers=len(self._timers),
            dropped_events=self._feed.dropped,
            attempt_started_at=self.attempt_started_at,
        )
