"""The call actor: one Trio task per call, driving an ``InviteSession`` and a ``MediaSession``.

It owns its call's media (created and closed in its task), its timers and its
roles: reporting to the program (``call_reports``), the program's commands
(``call_commands``) and transfers (``call_transfer``). It never touches the
socket: SIP goes out through the account's ``CallRouter`` and comes back into
the call's bounded inbox, with the program's commands (``Call`` methods) and
received RFC 4733 digits (a small child task forwards those from the media
session). While the task is idle, the account's task or the program's may step
its session themselves (``call_fast_path``).

Media follows signalling: our offer goes in the INVITE, the first SDP answer
(183 early media or the 2xx) is applied, an incoming offer is answered before
ringing so an offer we cannot use is refused with 488 before the program is
even told. A re-INVITE/UPDATE is answered by the session with our SDP
(hold mirrored), so media is not renegotiated. An incoming call rings (180)
before the program hears of it, unless its ``on_incoming`` is a plain function:
that one is called first, and a program that answers there and then sends its
200 with no 180 before it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio
from sipmessage import Request, Response

from kazoo_actors import call_events as ev
from kazoo_actors.actors.call_addresses import caller_identity, normalise_target
from kazoo_actors.actors.call_commands import perform_command
from kazoo_actors.actors.call_fast_path import bye_now, step_now
from kazoo_actors.actors.call_inbox import (
    CallSettings,
    ConnectionLost,
    Deferred,
    Inbound,
    MediaDigit,
    SipFailed,
    SipIn,
    TargetProgress,
)
from kazoo_actors.actors.call_reports import CallReports
from kazoo_actors.actors.call_transfer import CallTransfers
from kazoo_actors.call import Accept, Call, CallError, Command, Hangup, Reject
from kazoo_actors.params import is_async_callable
from media.errors import MediaError
from media.options import MediaOptions
from media.probe import ProbeReading
from media.session import MediaSession, MediaStatistics
from media.sinks import AudioSink
from media.sources import AudioSource
from protocols.sip import checked_headers
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.invite_session import InviteSession, SessionState
from protocols.sip.replies import response_to
from protocols.sip.respond_action import Respond
from protocols.sip.sdp_inactive import inactive_answer, inactive_offer

if TYPE_CHECKING:
    from kazoo_actors.actors.call_router import CallRouter

log = logging.getLogger("kazoo_actors.call")

INBOX_SIZE = 64


class CallActor:
    def __init__(
        self,
        router: CallRouter,
        settings: CallSettings,
        *,
        direction: str,
        target: str,
        caller_name: str,
        caller_number: str,
        media_options: MediaOptions,
        source: AudioSource | None,
        sinks: list[AudioSink] | None,
        session: InviteSession | None = None,
        observer: Callable[[int, str], None] | None = None,
    ) -> None:
        self.router = router
        self.settings = settings
        self.direction = direction
        self.session = session
        self.media: MediaSession | None = None
        self.answered = False
        self._media_options = media_options
        self._source = source
        self._sinks = sinks
        self._target = target
        # Not open_memory_channel[Inbound](...): subscripting it costs typing's cache
        # lookups at run time, for every call.
        self._send: trio.MemorySendChannel[Inbound]
        self._inbox: trio.MemoryReceiveChannel[Inbound]
        self._send, self._inbox = trio.open_memory_channel(INBOX_SIZE)
        self._timers: dict[str, float] = {}
        self._ended = trio.Event()
        self.answer_sdp: str | None = None
        self.remote_sdp_applied = False
        self.started = False
        """``connect`` has its Call (or, for an incoming call, nobody waits): from here the
        task contains its failures instead of raising them to whoever started it."""
        self.idle = False
        """The task waits on an empty inbox with nothing half-done: others may step the
        session (``call_fast_path``) until the next ``deliver`` or ``command``."""
        self.offer_answered = False
        """The offer was answered before the task ran (``answer_now``)."""
        self.answer_queued = False
        """The program accepted, rejected or hung up: no ringing is due any more."""
        self.signalling_only = settings.defaults.media == "none"
        """No media stack: an inactive offer or answer, made without waiting for anything."""
        self.transfers = CallTransfers(self)
        self.reports = CallReports(self, observer)
        self.call = Call(
            self,
            account=settings.account,
            direction=direction,
            remote_uri=target,
            caller_name=caller_name,
            caller_number=caller_number,
            feed=self.reports.feed,
        )

    # -- construction -----------------------------------------------------------------

    @classmethod
    def outgoing(
        cls,
        router: CallRouter,
        *,
        target: str,
        media_options: MediaOptions | None,
        source: AudioSource | None,
        sinks: list[AudioSink] | None,
        observer: Callable[[int, str], None] | None = None,
    ) -> CallActor:
        settings = router.settings()
        defaults = settings.defaults
        params = settings.params
        return cls(
            router,
            settings,
            direction="outgoing",
            target=normalise_target(target, params.realm),
            caller_name="",
            caller_number=params.user,
            media_options=media_options or defaults.media_options,
            source=source,
            sinks=sinks,
            observer=observer,
        )

    @classmethod
    def incoming(cls, router: CallRouter, invite: Request) -> CallActor:
        settings = router.settings()
        defaults = settings.defaults
        session = InviteSession.incoming(
            invite,
            contact=settings.contact,
            local_via=settings.local_via,
            reliable=True,
            answer_timeout=defaults.answer_timeout,
            rng=settings.rng,
        )
        name, number, uri = caller_identity(invite)
        return cls(
            router,
            settings,
            direction="incoming",
            target=uri,
            caller_name=name,
            caller_number=number,
            media_options=defaults.media_options,
            source=None,
            sinks=None,
            session=session,
        )

    # -- what the facade and the router read ---------------------------------------------

    @property
    def call_id(self) -> str:
        return self.session.call_id if self.session is not None else ""

    @property
    def state(self) -> str:
        return self.session.state.value if self.session is not None else "new"

    @property
    def session_ended(self) -> bool:
        return self._ended.is_set()

    def command(self, item: Command) -> None:
        if isinstance(item, Hangup) and bye_now(self):
            return
        if isinstance(item, Accept | Reject | Hangup):
            self.answer_queued = True
        try:
            self._send.send_nowait(item)
            self.idle = False
        except trio.WouldBlock:
            raise CallError(f"call {self.call_id} is busy: too many commands queued") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise CallError(f"call {self.call_id} is over") from None

    def deliver(self, item: Inbound) -> None:
        try:
            self._send.send_nowait(item)
            self.idle = False
        except trio.WouldBlock:
            log.warning("call %s: inbox full, dropped %s", self.call_id, type(item).__name__)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def probe(self) -> ProbeReading | None:
        return self.media.probe() if self.media is not None else None

    def media_statistics(self) -> MediaStatistics | None:
        return self.media.statistics() if self.media is not None else None

    async def wait_ended(self) -> None:
        await self._ended.wait()

    # -- the task ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Call] = trio.TASK_STATUS_IGNORED) -> None:
        # Nobody waits for an incoming call's start, nor for a call placed before its
        # task ran: their failures are contained from here on.
        self.started = self.started or self.direction == "incoming"
        try:
            if self.signalling_only:
                # Signalling only: no media stack, so no child task and no nursery either.
                await self._converse(None, task_status)
            else:
                async with self._media_session() as media, trio.open_nursery() as nursery:
                    self.media = media
                    nursery.start_soon(self._forward_media_digits, media)
                    await self._converse(media, task_status)
                    nursery.cancel_scope.cancel()
        except Exception:
            if not self.started:
                raise  # connect() reports it
            # A bug or a media failure costs this call, never the account that owns it.
            log.exception("call %s failed; ending it", self.call_id)
            self._abandon()
        finally:
            self.router.forget(self)
            self._ended.set()
            self.reports.feed.close()
            self._send.close()
            self.reports.observe(487, "Request Terminated")

    async def _converse(
        self, media: MediaSession | None, task_status: trio.TaskStatus[Call]
    ) -> None:
        if self.direction == "outgoing":
            if self.session is None:
                await self._place(media, task_status)
        else:
            task_status.started(self.call)
            await self._offer_received(media)
        await self._loop()
        await self._perform_deferred()

    @asynccontextmanager
    async def _media_session(self) -> AsyncIterator[MediaSession]:
        # Sources and sinks are made only for calls that carry media: a tone's
        # waveform alone costs tens of milliseconds.
        defaults = self.settings.defaults
        source = self._source
        if source is None and defaults.source is not None:
            source = defaults.source()
        sinks = self._sinks
        if sinks is None:
            sinks = defaults.sinks() if defaults.sinks is not None else []
        async with MediaSession(self._media_options, source=source, sinks=sinks) as media:
            yield media

    async def _place(self, media: MediaSession | None, task_status: trio.TaskStatus[Call]) -> None:
        try:
            if media is None:
                offer = inactive_offer(self.settings.rng.getrandbits(31))
            else:
                offer = await media.create_offer()
        except MediaError as exc:
            raise CallError(f"cannot create a media offer: {exc}") from exc
        self.invite(offer)
        task_status.started(self.call)
        self.started = True

    def invite(self, offer: str) -> None:
        """Make the UAC session and send its INVITE (CallError for a bad target)."""
        settings = self.settings
        params = settings.params
        try:
            self.session = InviteSession.outgoing(
                target=self._target,
                local_address=f"<{params.aor}>",
                contact=settings.contact,
                local_via=settings.local_via,
                offer_sdp=offer,
                digest=self.router.digest,
                reliable=True,
                user_agent=params.user_agent,
                rng=settings.rng,
            )
        except ValueError as exc:
            raise CallError(f"cannot call {self._target!r}: {exc}") from exc
        self.router.adopt(self)
        step_now(self, self.session.start())

    async def _offer_received(self, media: MediaSession | None) -> None:
        if not self.offer_answered and not await self._answer_offer(media):
            return
        session = self._session()
        if session.state not in (SessionState.INCOMING, SessionState.RINGING):
            return  # cancelled while the answer was prepared
        at_once = self.may_answer_at_once()
        if not at_once:
            await self._ring()
        call = self.call
        event = ev.CallIncoming(
            call=call,
            call_id=self.call_id,
            account=self.settings.account,
            caller_name=call.caller_name,
            caller_number=call.caller_number,
        )
        # on_incoming gets the Call itself (kazoo.js handed over the call object).
        await self.reports.emit(event, "on_incoming", call)
        if at_once and not self.answer_queued:
            await self._ring()

    def may_answer_at_once(self) -> bool:
        """Whether the program hears of the call before it rings: its on_incoming is a
        plain function, which runs to the end at once, so a program that answers there
        and then sends its 200 (or rejection) with no 180 first, as a phone that
        answers at once does not ring. Anything else (no callback, an async one) rings
        first, so the caller hears ringing while the program takes its time."""
        callback = self.settings.params.on_incoming
        return callback is not None and not is_async_callable(callback)

    async def _ring(self) -> None:
        session = self._session()
        if session.state is SessionState.INCOMING:
            await self.perform(session.ring())

    async def _answer_offer(self, media: MediaSession | None) -> bool:
        """Answer the offer, or refuse it with 488; False when the call is over."""
        session = self._session()
        await self.perform(session.start())
        offer = session.remote_sdp
        if offer is None:
            log.info("call %s: INVITE without an SDP offer refused with 488", self.call_id)
            await self.perform(session.reject(488))
            return False
        try:
            if media is None:
                self.answer_sdp = inactive_answer(offer, self.settings.rng.getrandbits(31))
            else:
                self.answer_sdp = await media.create_answer(offer)
        except (MediaError, ParseError) as exc:
            log.info("call %s: offer not acceptable (488): %s", self.call_id, exc)
            await self.perform(session.reject(488))
            return False
        self.remote_sdp_applied = True
        return True

    async def _loop(self) -> None:
        session = self._session()
        timers = self._timers
        while not session.ended:
            item = await self._next(timers)
            if item is not None:
                await self._handle(item)
            if timers:
                now = trio.current_time()
                for name, due in list(timers.items()):
                    if due <= now and timers.get(name) == due:
                        del timers[name]
                        await self._timer(name)

    async def _next(self, timers: dict[str, float]) -> Inbound | None:
        """The next inbox item, or None when the first timer falls due first."""
        inbox = self._inbox
        try:
            return inbox.receive_nowait()
        except trio.WouldBlock:
            pass
        # Idle: the inbox is empty and nothing is being handled, until the next
        # ``deliver`` or ``command`` (which clear the flag before this task runs).
        self.idle = True
        try:
            if not timers:
                # Most of a call's life has no timer: no cancel scope per message then.
                return await inbox.receive()
            # Only the receive is interruptible (a cancelled receive loses nothing);
            # handling an item is never cut short by a timer that falls due meanwhile.
            with trio.CancelScope(deadline=min(timers.values())):
                return await inbox.receive()
            return None
        finally:
            self.idle = False

    def _abandon(self) -> None:
        """Best effort after a failure: the far end gets its BYE, CANCEL or 603."""
        session = self.session
        if session is None or session.ended:
            return
        try:
            if session.state is SessionState.IDLE and self.direction == "incoming":
                session.start()
            if session.state in (SessionState.INCOMING, SessionState.RINGING):
                outputs = session.reject(500)
            else:
                outputs = session.hangup()
        except (LocalProtocolError, ParseError):
            return
        for item in outputs:
            if isinstance(item, Send | Respond):
                self.router.post(item)

    async def _perform_deferred(self) -> None:
        """A ``hangup_now`` may have ended the session with its events still queued."""
        while True:
            try:
                item = self._inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return
            if isinstance(item, Deferred):
                await self.perform(item.outputs)

    async def _forward_media_digits(self, media: MediaSession) -> None:
        async for event in media.dtmf_received:
            self.deliver(MediaDigit(digit=event.digit, duration_ms=event.duration_ms))

    # -- handling --------------------------------------------------------------------------

    def _session(self) -> InviteSession:
        assert self.session is not None  # set before the loop runs
        return self.session

    async def _handle(self, item: Inbound) -> None:
        session = self._session()
        try:
            if isinstance(item, SipIn):
                await self._sip(item)
            elif isinstance(item, SipFailed):
                if not await self.transfers.request_failed(item.request, item.code, item.reason):
                    await self.perform(session.request_failed(item.request, item.code, item.reason))
            elif isinstance(item, ConnectionLost):
                await self.perform(session.transport_failed())
            elif isinstance(item, MediaDigit):
                await self.reports.emit(
                    ev.DtmfReceived(
                        call_id=self.call_id,
                        account=self.settings.account,
                        digit=item.digit,
                        duration_ms=item.duration_ms,
                        method="rfc4733",
                    )
                )
            elif isinstance(item, TargetProgress):
                await self.transfers.target_progress(item)
            elif isinstance(item, Deferred):
                await self.perform(item.outputs)
            else:
                await perform_command(self, session, item)
        except ParseError as exc:
            log.warning("call %s: dropped a malformed message: %s", self.call_id, exc)
        except LocalProtocolError as exc:
            # Remote input the session cannot take in its state: the message is dropped.
            log.warning("call %s: dropped an unexpected message: %s", self.call_id, exc)

    async def _sip(self, item: SipIn) -> None:
        session = self._session()
        message = item.message
        if isinstance(message, Response):
            # The transaction layer matched it to its request (branch and method).
            request = item.request
            method = request.method if request is not None else checked_headers.cseq(message).method
            if not await self.transfers.response(message, method):
                await self.perform(session.receive_response(message))
            return
        if message.method in ("REFER", "NOTIFY") and not session.owns(message):
            await self.perform([Respond(request=message, response=response_to(message, 481))])
        elif message.method == "REFER":
            await self.transfers.refer_received(message)
        elif message.method == "NOTIFY":
            await self.transfers.notify(message)
        else:
            await self.perform(session.receive_request(message))

    def cancel_timer(self, name: str) -> None:
        self._timers.pop(name, None)

    async def _timer(self, name: str) -> None:
        if not await self.transfers.timer(name):
            await self.perform(self._session().timer_fired(name))

    # -- outputs ---------------------------------------------------------------------------

    async def perform(self, outputs: list[Any]) -> None:
        now = trio.current_time()
        for item in outputs:
            if isinstance(item, Send | Respond):
                self.router.post(item)
            elif isinstance(item, StartTimer):
                self._timers[item.name] = now + item.seconds
            elif isinstance(item, CancelTimer):
                self._timers.pop(item.name, None)
            else:
                await self.reports.event(item)
