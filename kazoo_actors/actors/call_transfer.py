"""Blind transfer for one call actor, both sides (the actor's transfer role).

Transferor: ``start(target)`` sends the REFER (``protocols.sip.refer``), then
follows its response and the subscription's NOTIFYs; after ``succeeded`` the
original call is hung up, as the far end now talks to the target.
Transferee: a REFER in our dialog is accepted (202), the engine calls the
``Refer-To`` target on the same account, and that call's progress goes back
to the transferor as sipfrag NOTIFYs.

Every stage is reported as ``call_events.TransferStatus``; ``on_transfer``
fires when the far end accepted our REFER.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sipmessage import Request, Response

from kazoo_actors import call_events as ev
from kazoo_actors.actors.call_addresses import normalise_target
from kazoo_actors.actors.call_inbox import TargetProgress
from kazoo_actors.call import CallError
from protocols.sip.errors import ParseError
from protocols.sip.invite_states import SessionState
from protocols.sip.refer import (
    TIMER_REFER,
    IncomingRefer,
    OutgoingRefer,
    TransferAccepted,
    TransferEvent,
    TransferFailed,
    TransferProgress,
    TransferSucceeded,
)
from protocols.sip.replies import response_to
from protocols.sip.respond_action import Respond

if TYPE_CHECKING:
    from kazoo_actors.actors.call import CallActor

log = logging.getLogger("kazoo_actors.call")


class CallTransfers:
    __slots__ = ("_actor", "incoming", "outgoing")

    def __init__(self, actor: CallActor) -> None:
        self._actor = actor
        self.outgoing: OutgoingRefer | None = None
        self.incoming: IncomingRefer | None = None

    # -- transferor -------------------------------------------------------------------

    async def start(self, target: str) -> None:
        actor = self._actor
        session = actor.session
        if session is None or session.state is not SessionState.CONFIRMED or not session.dialog:
            raise CallError("only an answered call can be transferred")
        if self.outgoing is not None and not self.outgoing.finished:
            raise CallError("a transfer is already in progress")
        params = actor.settings.params
        refer = OutgoingRefer(
            session.dialog,
            target=normalise_target(target, params.realm),
            referred_by=params.aor,
        )
        self.outgoing = refer
        await actor.perform(refer.start())
        await self._report("requested", refer.target)

    async def response(self, response: Response, method: str) -> bool:
        """A response to a REFER or to one of our NOTIFYs; False when it is neither."""
        if method == "NOTIFY":
            return True  # the transferor's answers to our progress reports
        if method != "REFER":
            return False
        refer = self.outgoing
        if refer is not None and refer.is_response_to_us(response):
            await self._actor.perform(refer.receive_response(response))
        return True

    async def request_failed(self, request: Request, code: int, reason: str) -> bool:
        if request.method != "REFER" or self.outgoing is None:
            return request.method == "NOTIFY"
        await self._actor.perform(self.outgoing.request_failed(code, reason))
        return True

    async def notify(self, request: Request) -> None:
        if self.outgoing is None:
            await self._actor.perform(
                [Respond(request=request, response=response_to(request, 481))]
            )
        else:
            await self._actor.perform(self.outgoing.receive_notify(request))

    async def timer(self, name: str) -> bool:
        if name != TIMER_REFER or self.outgoing is None:
            return False
        await self._actor.perform(self.outgoing.timer_fired(name))
        return True

    async def event(self, item: TransferEvent) -> None:
        refer = self.outgoing
        if refer is None:
            return
        if isinstance(item, TransferAccepted):
            await self._report("accepted", refer.target, item.code)
        elif isinstance(item, TransferProgress):
            await self._report("progress", refer.target, item.code, item.reason)
        elif isinstance(item, TransferSucceeded):
            await self._report("succeeded", refer.target, item.code, item.reason)
            session = self._actor.session
            if session is not None:
                await self._actor.perform(session.hangup())
        elif isinstance(item, TransferFailed):
            await self._report("failed", refer.target, item.code, item.reason)

    # -- transferee -------------------------------------------------------------------

    async def refer_received(self, request: Request) -> None:
        actor = self._actor
        session = actor.session
        if session is None or session.state is not SessionState.CONFIRMED or not session.dialog:
            await actor.perform([Respond(request=request, response=response_to(request, 481))])
            return
        try:
            refer = IncomingRefer.from_request(session.dialog, request)
        except ParseError as exc:
            log.info("call %s: REFER refused: %s", actor.call_id, exc)
            await actor.perform([Respond(request=request, response=response_to(request, 400))])
            return
        self.incoming = refer
        await actor.perform(refer.accept())
        await self._report("requested", refer.target, incoming=True)

        def observe(code: int, reason: str) -> None:
            actor.deliver(TargetProgress(code=code, reason=reason))

        try:
            await actor.router.start_call(refer.target, observer=observe)
        except CallError as exc:
            await self.target_progress(TargetProgress(code=503, reason=str(exc)))

    async def target_progress(self, item: TargetProgress) -> None:
        refer = self.incoming
        if refer is None:
            return
        await self._actor.perform(refer.report(item.code, item.reason))
        stage: ev.TransferStage = "progress"
        if item.code >= 200:
            stage = "succeeded" if item.code < 300 else "failed"
        await self._report(stage, refer.target, item.code, item.reason, incoming=True)

    async def _report(
        self,
        stage: ev.TransferStage,
        target: str,
        code: int | None = None,
        reason: str | None = None,
        *,
        incoming: bool = False,
    ) -> None:
        actor = self._actor
        event = ev.TransferStatus(
            call_id=actor.call_id,
            account=actor.settings.account,
            stage=stage,
            target=target,
            code=code,
            reason=reason,
            incoming=incoming,
        )
        callback = "on_transfer" if stage == "accepted" and not incoming else None
        await actor.reports.emit(event, callback)
