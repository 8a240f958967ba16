"""What a call's program hears: session events become ``call_events``, callbacks and
observer codes (the reporting role of a call actor).

Every event goes to the call's own feed (``Call.events()``) and, through the
account's router, to the account's feed and the ``on_*`` callback it names. A call
the engine placed for a REFER it accepted also has an observer, told the call's
progress and outcome codes (the transferor hears them as sipfrag NOTIFYs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kazoo_actors import call_events as ev
from kazoo_actors.event_feed import EventFeed
from media.errors import MediaError
from protocols.sip.invite_session import (
    Answered,
    Confirmed,
    DtmfReceived,
    Ended,
    InfoIgnored,
    InfoResult,
    Outcome,
    Progress,
    RemoteDirection,
)
from protocols.sip.refer import TransferEvent

if TYPE_CHECKING:
    from kazoo_actors.actors.call import CallActor

log = logging.getLogger("kazoo_actors.call")


class CallReports:
    __slots__ = ("_actor", "_observer", "_observer_done", "feed")

    def __init__(self, actor: CallActor, observer: Callable[[int, str], None] | None) -> None:
        self._actor = actor
        self._observer = observer
        self._observer_done = False
        self.feed = EventFeed(limit=128)

    async def event(self, item: Any) -> None:
        """A session event (``invite_session``) or a transfer event (``refer``)."""
        actor = self._actor
        account = actor.settings.account
        if isinstance(item, Progress):
            if item.sdp is not None:
                await self._apply_remote_sdp(item.sdp)
            self.observe(item.code, item.reason, final=False)
            await self.emit(
                ev.CallProgress(
                    call_id=actor.call_id,
                    account=account,
                    code=item.code,
                    reason=item.reason,
                    early_media=item.sdp is not None,
                )
            )
        elif isinstance(item, Answered):
            if item.sdp is not None and not await self._apply_remote_sdp(item.sdp):
                session = actor.session
                assert session is not None  # it made the event
                await actor.perform(session.bye())
                return
            await self._accepted()
        elif isinstance(item, Confirmed):
            await self._accepted()
        elif isinstance(item, RemoteDirection):
            await self.emit(
                ev.RemoteHold(
                    call_id=actor.call_id,
                    account=account,
                    on_hold=item.on_hold,
                    direction=item.direction,
                )
            )
        elif isinstance(item, DtmfReceived):
            await self.emit(
                ev.DtmfReceived(
                    call_id=actor.call_id,
                    account=account,
                    digit=item.digit,
                    duration_ms=item.duration_ms,
                    method="info",
                )
            )
        elif isinstance(item, InfoIgnored):
            log.warning("call %s: ignored an INFO: %s", actor.call_id, item.reason)
        elif isinstance(item, InfoResult):
            if item.code >= 300:
                log.info("call %s: INFO answered %s %s", actor.call_id, item.code, item.reason)
        elif isinstance(item, Ended):
            await self._call_ended(item)
        elif isinstance(item, TransferEvent):
            await actor.transfers.event(item)

    def can_report_now(self, item: Any) -> bool:
        """Whether ``report_now`` takes ``item``: a signalling-only call's progress or
        answer whose callback the program left unset (nothing to await, so the task
        that stepped the session may report it; the call's task need not wake)."""
        actor = self._actor
        if not actor.signalling_only:
            return False
        if isinstance(item, Progress):
            return True
        if isinstance(item, Answered | Confirmed):
            return actor.answered or not actor.router.has_callback("on_accepted")
        return False

    def report_now(self, item: Progress | Answered | Confirmed) -> None:
        actor = self._actor
        if isinstance(item, Progress):
            self.observe(item.code, item.reason, final=False)
            event: ev.CallEvent = ev.CallProgress(
                call_id=actor.call_id,
                account=actor.settings.account,
                code=item.code,
                reason=item.reason,
                early_media=item.sdp is not None,
            )
        elif actor.answered:
            return
        else:
            actor.answered = True
            self.observe(200, "OK")
            event = self._accepted_event()
        self.feed.publish(event)
        actor.router.publish(event)

    async def emit(
        self, event: ev.CallEvent, callback: str | None = None, argument: Any = None
    ) -> None:
        self.feed.publish(event)
        await self._actor.router.emit(event, callback, event if argument is None else argument)

    def observe(self, code: int, reason: str, *, final: bool = True) -> None:
        """Tell the observer (if any) a status; after a final one, nothing more."""
        if self._observer is None or self._observer_done:
            return
        if final:
            self._observer_done = True
        self._observer(code, reason)

    async def _apply_remote_sdp(self, sdp: str) -> bool:
        actor = self._actor
        media = actor.media
        if actor.remote_sdp_applied or media is None:
            return True
        actor.remote_sdp_applied = True
        try:
            await media.accept_answer(sdp)
        except MediaError as exc:
            log.warning("call %s: the far end's SDP answer is unusable: %s", actor.call_id, exc)
            return False
        return True

    async def _accepted(self) -> None:
        actor = self._actor
        if actor.answered:
            return
        actor.answered = True
        self.observe(200, "OK")
        await self.emit(self._accepted_event(), "on_accepted")

    def _accepted_event(self) -> ev.CallAccepted:
        actor = self._actor
        return ev.CallAccepted(
            call_id=actor.call_id,
            account=actor.settings.account,
            direction="outgoing" if actor.direction == "outgoing" else "incoming",
        )

    async def _call_ended(self, end: Ended) -> None:
        actor = self._actor
        source: ev.Source = "local" if end.by == "local" else "remote"
        if end.outcome is Outcome.FAILED and end.code in (408, 503):
            source = "system"
        account = actor.settings.account
        if actor.answered:
            await self.emit(
                ev.CallHangup(
                    call_id=actor.call_id,
                    account=account,
                    code=end.code,
                    reason=end.reason,
                    source=source,
                ),
                "on_hangup",
            )
        else:
            self.observe(end.code, end.reason)
            await self.emit(
                ev.CallCancel(
                    call_id=actor.call_id,
                    account=account,
                    code=end.code,
                    message=end.reason,
                    source=source,
                    outcome=end.outcome.value,
                ),
                "on_cancel",
            )


__all__ = ["CallReports"]
