"""The call actor: one Trio task per call, driving an ``InviteSession`` and a ``MediaSession``.

It owns its call's media (created and closed in its task), its timers and its
transfer role (``call_transfer``). It never touches the socket: SIP goes out through the
account's ``CallRouter`` and comes back into the call's bounded inbox, with
the program's commands (``Call`` methods) and received RFC 4733 digits (a
small child task forwards those from the media session).

Media follows signalling: our offer goes in the INVITE, the first SDP answer
(183 early media or the 2xx) is applied, an incoming offer is answered before
ringing so an offer we cannot use is refused with 488 before the program is
even told. A re-INVITE/UPDATE is answered by the session with our SDP
(hold mirrored), so media is not renegotiated.
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
from kazoo_actors.actors.call_transfer import CallTransfers
from kazoo_actors.call import (
    Accept,
    Call,
    CallError,
    Command,
    Hangup,
    MuteRequest,
    Reject,
    SendDtmf,
    Transfer,
)
from kazoo_actors.callbacks import invoke_callback
from kazoo_actors.event_feed import EventFeed
from media.errors import DtmfNotNegotiatedError, MediaError
from media.options import MediaOptions
from media.probe import ProbeReading
from media.session import MediaSession, MediaStatistics
from media.sinks import AudioSink
from media.sources import AudioSource
from protocols.sip import checked_headers
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.invite_session import (
    Answered,
    Confirmed,
    DtmfReceived,
    Ended,
    InfoIgnored,
    InfoResult,
    InviteSession,
    Outcome,
    Progress,
    RemoteDirection,
    SessionState,
)
from protocols.sip.refer import TransferEvent
from protocols.sip.replies import response_to
from protocols.sip.respond_action import Respond
from protocols.sip.sdp_inactive import inactive_answer, inactive_offer

if TYPE_CHECKING:
    from kazoo_actors.actors.call_router import CallRouter

log = logging.getLogger("kazoo_actors.call")

INBOX_SIZE = 64
_TRANSFER_METHODS = ("REFER", "NOTIFY")


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
        self._observer = observer
        self._observer_done = False
        self._send, self._inbox = trio.open_memory_channel[Inbound](INBOX_SIZE)
        self._timers: dict[str, float] = {}
        self._answer_sdp: str | None = None
        self._remote_sdp_applied = False
        self.transfers = CallTransfers(self)
        self._ended = trio.Event()
        self._started = False
        # True while the task waits for its next inbox item with nothing else to do:
        # only then may the account's task step the session itself (``sip_now``).
        self._idle = False
        self._rang_early = False
        self.signalling_only = settings.defaults.media == "none"
        """No media stack: an inactive offer or answer, made without waiting for anything."""
        self._feed = EventFeed(limit=128)
        self.call = Call(
            self,
            account=settings.account,
            direction=direction,
            remote_uri=target,
            caller_name=caller_name,
            caller_number=caller_number,
            feed=self._feed,
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
        try:
            self._send.send_nowait(item)
            self._idle = False
        except trio.WouldBlock:
            raise CallError(f"call {self.call_id} is busy: too many commands queued") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise CallError(f"call {self.call_id} is over") from None

    def deliver(self, item: Inbound) -> None:
        try:
            self._send.send_nowait(item)
            self._idle = False
        except trio.WouldBlock:
            log.warning("call %s: inbox full, dropped %s", self.call_id, type(item).__name__)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def hangup_now(self) -> None:
        """End the call from the account's task, so its BYE/CANCEL is queued at once.

        For logout: the account sends its un-REGISTER right after and closes the
        connection when that is answered, which may be before this task runs again.
        """
        session = self.session
        if session is None or session.ended:
            return
        try:
            outputs = session.hangup()
        except LocalProtocolError:
            return
        self.step_now(outputs)

    def step_now(self, outputs: list[Any]) -> None:
        """Outputs of a session step taken outside this task: messages go out at once,
        the rest (timers, events for the program) is handed to this task in order.

        The session is sans-IO and consistent between steps, so another task may step
        it whenever this one is not in the middle of performing outputs.
        """
        rest: list[Any] = []
        for item in outputs:
            if isinstance(item, Send | Respond):
                self.router.post(item)
            else:
                rest.append(item)
        if rest:
            self.deliver(Deferred(outputs=rest))

    def sip_now(self, item: SipIn) -> bool:
        """Step the session with ``item`` in the account's task; False to queue it instead.

        A message of the INVITE usage (responses, ACK, BYE, CANCEL, INFO, re-INVITE)
        for a call whose task has nothing queued and is not busy is taken here: what
        it sends goes out with the account's next send, and this task is woken only
        when the program has something to hear. That saves a task switch for each
        100 Trying and sends an ACK, or the 200 for a BYE, without a second wake of
        the account. Transfers (REFER, NOTIFY and their responses) stay in the task.
        """
        session = self.session
        if not self._idle or session is None or session.ended:
            return False
        message = item.message
        try:
            if isinstance(message, Response):
                request = item.request
                if request is None or request.method in _TRANSFER_METHODS:
                    return False
                outputs = session.receive_response(message)
            elif message.method in _TRANSFER_METHODS:
                return False
            else:
                outputs = session.receive_request(message)
        except ParseError as exc:
            log.warning("call %s: dropped a malformed message: %s", self.call_id, exc)
            return True
        except LocalProtocolError as exc:
            log.warning("call %s: dropped an unexpected message: %s", self.call_id, exc)
            return True
        self.step_now(outputs)
        return True

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
        self._started = self._started or self.direction == "incoming"
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
            if not self._started:
                raise  # connect() reports it
            # A bug or a media failure costs this call, never the account that owns it.
            log.exception("call %s failed; ending it", self.call_id)
            self._abandon()
        finally:
            self.router.forget(self)
            self._ended.set()
            self._feed.close()
            self._send.close()
            self._report_to_observer(487, "Request Terminated")

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
        self._invite(offer)
        task_status.started(self.call)
        self._started = True

    def place_now(self) -> None:
        """Signalling only: send the INVITE from the program's task, before this task
        runs (an inactive offer needs no media stack), so ``connect`` need not wait for
        the task to start. CallError when the target is not a SIP address."""
        self._invite(inactive_offer(self.settings.rng.getrandbits(31)))
        self._started = True

    def _invite(self, offer: str) -> None:
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
        self.step_now(self.session.start())

    def ring_now(self) -> None:
        """Signalling only: answer the offer and ring from the account's task, before
        this task first runs (an inactive answer needs no media stack), so the 180
        goes out with the account's next send. An INVITE without a usable offer is
        left to the task, which refuses it."""
        session = self._session()
        offer = session.remote_sdp
        if offer is None:
            return
        try:
            answer = inactive_answer(offer, self.settings.rng.getrandbits(31))
        except ParseError:
            return
        outputs = session.start()
        outputs += session.ring()
        self._answer_sdp = answer
        self._remote_sdp_applied = True
        self._rang_early = True
        self.step_now(outputs)

    async def _offer_received(self, media: MediaSession | None) -> None:
        if not self._rang_early and not await self._ring(media):
            return
        call = self.call
        event = ev.CallIncoming(
            call=call,
            call_id=self.call_id,
            account=self.settings.account,
            caller_name=call.caller_name,
            caller_number=call.caller_number,
        )
        # on_incoming gets the Call itself (kazoo.js handed over the call object).
        await self.emit(event, "on_incoming", call)

    async def _ring(self, media: MediaSession | None) -> bool:
        """Answer the offer (488 when it is unusable) and ring; False when the call is over."""
        session = self._session()
        await self.perform(session.start())
        offer = session.remote_sdp
        if offer is None:
            log.info("call %s: INVITE without an SDP offer refused with 488", self.call_id)
            await self.perform(session.reject(488))
            return False
        try:
            if media is None:
                self._answer_sdp = inactive_answer(offer, self.settings.rng.getrandbits(31))
            else:
                self._answer_sdp = await media.create_answer(offer)
        except (MediaError, ParseError) as exc:
            log.info("call %s: offer not acceptable (488): %s", self.call_id, exc)
            await self.perform(session.reject(488))
            return False
        self._remote_sdp_applied = True
        if session.state is not SessionState.INCOMING:
            return False  # cancelled while the answer was prepared
        await self.perform(session.ring())
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
        self._idle = True
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
            self._idle = False

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
                await self.emit(
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
                await self._command(item)
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

    async def _command(self, item: Command) -> None:
        session = self._session()
        if isinstance(item, MuteRequest):
            await self._mute(item)
            return
        try:
            if isinstance(item, Accept):
                if item.source is not None and self.media is not None:
                    await self.media.set_source(item.source)
                if self._answer_sdp is None:
                    raise CallError("there is no media answer to accept with")
                await self.perform(session.accept(self._answer_sdp))
            elif isinstance(item, Reject):
                await self.perform(session.reject(item.code))
            elif isinstance(item, Hangup):
                await self.perform(session.hangup())
            elif isinstance(item, SendDtmf):
                await self._send_dtmf(item.digit)
            elif isinstance(item, Transfer):
                await self.transfers.start(item.target)
        except (LocalProtocolError, CallError, MediaError, ValueError) as exc:
            log.warning("call %s: %s refused: %s", self.call_id, type(item).__name__, exc)

    async def _send_dtmf(self, digit: str) -> None:
        session = self._session()
        if self.settings.defaults.dtmf_method == "rfc4733" and self.media is not None:
            try:
                await self.media.send_dtmf(digit)
                return
            except DtmfNotNegotiatedError:
                log.info("call %s: telephone-event not negotiated, DTMF by INFO", self.call_id)
        await self.perform(session.send_dtmf_info(digit))

    async def _mute(self, request: MuteRequest) -> None:
        if self.media is None or self._session().ended:
            error = CallError("the call has no media to mute")
            request.resolve(error)
            await invoke_callback(request.on_error, error, account=self.settings.account)
            return
        try:
            self.media.set_muted(request.muted)
        except MediaError as exc:
            error = CallError(f"cannot mute: {exc}")
            request.resolve(error)
            await invoke_callback(request.on_error, error, account=self.settings.account)
            return
        request.resolve()
        await invoke_callback(request.on_success, account=self.settings.account)
        await self.emit(
            ev.MuteChanged(call_id=self.call_id, account=self.settings.account, muted=request.muted)
        )

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
                await self._event(item)

    async def _event(self, item: Any) -> None:
        account = self.settings.account
        if isinstance(item, Progress):
            if item.sdp is not None:
                await self._apply_remote_sdp(item.sdp)
            self._report_to_observer(item.code, item.reason, final=False)
            await self.emit(
                ev.CallProgress(
                    call_id=self.call_id,
                    account=account,
                    code=item.code,
                    reason=item.reason,
                    early_media=item.sdp is not None,
                )
            )
        elif isinstance(item, Answered):
            if item.sdp is not None and not await self._apply_remote_sdp(item.sdp):
                await self.perform(self._session().bye())
                return
            await self._accepted()
        elif isinstance(item, Confirmed):
            await self._accepted()
        elif isinstance(item, RemoteDirection):
            await self.emit(
                ev.RemoteHold(
                    call_id=self.call_id,
                    account=account,
                    on_hold=item.on_hold,
                    direction=item.direction,
                )
            )
        elif isinstance(item, DtmfReceived):
            await self.emit(
                ev.DtmfReceived(
                    call_id=self.call_id,
                    account=account,
                    digit=item.digit,
                    duration_ms=item.duration_ms,
                    method="info",
                )
            )
        elif isinstance(item, InfoIgnored):
            log.warning("call %s: ignored an INFO: %s", self.call_id, item.reason)
        elif isinstance(item, InfoResult):
            if item.code >= 300:
                log.info("call %s: INFO answered %s %s", self.call_id, item.code, item.reason)
        elif isinstance(item, Ended):
            await self._call_ended(item)
        elif isinstance(item, TransferEvent):
            await self.transfers.event(item)

    async def _apply_remote_sdp(self, sdp: str) -> bool:
        if self._remote_sdp_applied or self.media is None:
            return True
        self._remote_sdp_applied = True
        try:
            await self.media.accept_answer(sdp)
        except MediaError as exc:
            log.warning("call %s: the far end's SDP answer is unusable: %s", self.call_id, exc)
            return False
        return True

    async def _accepted(self) -> None:
        if self.answered:
            return
        self.answered = True
        self._report_to_observer(200, "OK")
        event = ev.CallAccepted(
            call_id=self.call_id,
            account=self.settings.account,
            direction="outgoing" if self.direction == "outgoing" else "incoming",
        )
        await self.emit(event, "on_accepted")

    async def _call_ended(self, end: Ended) -> None:
        source: ev.Source = "local" if end.by == "local" else "remote"
        if end.outcome is Outcome.FAILED and end.code in (408, 503):
            source = "system"
        account = self.settings.account
        if self.answered:
            await self.emit(
                ev.CallHangup(
                    call_id=self.call_id,
                    account=account,
                    code=end.code,
                    reason=end.reason,
                    source=source,
                ),
                "on_hangup",
            )
        else:
            self._report_to_observer(end.code, end.reason)
            await self.emit(
                ev.CallCancel(
                    call_id=self.call_id,
                    account=account,
                    code=end.code,
                    message=end.reason,
                    source=source,
                    outcome=end.outcome.value,
                ),
                "on_cancel",
            )

    async def emit(
        self, event: ev.CallEvent, callback: str | None = None, argument: Any = None
    ) -> None:
        self._feed.publish(event)
        await self.router.emit(event, callback, event if argument is None else argument)

    def _report_to_observer(self, code: int, reason: str, *, final: bool = True) -> None:
        if self._observer is None or self._observer_done:
            return
        if final:
            self._observer_done = True
        self._observer(code, reason)
