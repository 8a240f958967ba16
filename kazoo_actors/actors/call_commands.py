"""The program's commands to a call (``Call`` methods), performed in the call's task.

Accept, reject, hang up, DTMF (RFC 4733 through the media session when asked and
negotiated, else SIP INFO), transfer and mute. A command the call cannot take in
its state is logged and dropped: the methods that posted it have already returned.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kazoo_actors import call_events as ev
from kazoo_actors.call import (
    Accept,
    CallError,
    Command,
    Hangup,
    MuteRequest,
    Reject,
    SendDtmf,
    Transfer,
)
from kazoo_actors.callbacks import invoke_callback
from media.errors import DtmfNotNegotiatedError, MediaError
from protocols.sip.errors import LocalProtocolError
from protocols.sip.invite_session import InviteSession

if TYPE_CHECKING:
    from kazoo_actors.actors.call import CallActor

log = logging.getLogger("kazoo_actors.call")


async def perform_command(actor: CallActor, session: InviteSession, item: Command) -> None:
    if isinstance(item, MuteRequest):
        await _mute(actor, session, item)
        return
    try:
        if isinstance(item, Accept):
            if item.source is not None and actor.media is not None:
                await actor.media.set_source(item.source)
            if actor.answer_sdp is None:
                raise CallError("there is no media answer to accept with")
            await actor.perform(session.accept(actor.answer_sdp))
        elif isinstance(item, Reject):
            await actor.perform(session.reject(item.code))
        elif isinstance(item, Hangup):
            await actor.perform(session.hangup())
        elif isinstance(item, SendDtmf):
            await _send_dtmf(actor, session, item.digit)
        elif isinstance(item, Transfer):
            await actor.transfers.start(item.target)
    except (LocalProtocolError, CallError, MediaError, ValueError) as exc:
        log.warning("call %s: %s refused: %s", actor.call_id, type(item).__name__, exc)


async def _send_dtmf(actor: CallActor, session: InviteSession, digit: str) -> None:
    if actor.settings.defaults.dtmf_method == "rfc4733" and actor.media is not None:
        try:
            await actor.media.send_dtmf(digit)
            return
        except DtmfNotNegotiatedError:
            log.info("call %s: telephone-event not negotiated, DTMF by INFO", actor.call_id)
    await actor.perform(session.send_dtmf_info(digit))


async def _mute(actor: CallActor, session: InviteSession, request: MuteRequest) -> None:
    account = actor.settings.account
    if actor.media is None or session.ended:
        error = CallError("the call has no media to mute")
        request.resolve(error)
        await invoke_callback(request.on_error, error, account=account)
        return
    try:
        actor.media.set_muted(request.muted)
    except MediaError as exc:
        error = CallError(f"cannot mute: {exc}")
        request.resolve(error)
        await invoke_callback(request.on_error, error, account=account)
        return
    request.resolve()
    await invoke_callback(request.on_success, account=account)
    await actor.reports.emit(
        ev.MuteChanged(call_id=actor.call_id, account=account, muted=request.muted)
    )


__all__ = ["perform_command"]
