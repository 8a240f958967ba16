"""Stepping a call's session in the task a message or command already is in.

A call's task costs a task switch every time it is woken, and what it sends costs
the account another wake-up. Its ``InviteSession`` is sans-IO and consistent
between steps, so another task may step it whenever the call's task is idle
(waiting on an empty inbox, nothing half-performed): messages then go out at once
through the router, and the call's task is handed only what needs it (timers,
events for the program), in order, through its inbox.

- ``sip_now``: the account's task takes SIP of the INVITE usage for an idle call
  (no task switch for a 100 Trying; the ACK of a 2xx and the 200 for a BYE go out
  with the account's next send instead of after a second wake-up).
- ``answer_now``: a signalling-only INVITE's offer is answered (and the call rung)
  from the account's task (an inactive answer needs no media stack), before the
  call's task runs.
- ``place_now``: a signalling-only ``connect`` sends its INVITE from the program's
  task, so it need not wait for the call's task to start.
- ``bye_now``: the program's hangup of an answered call sends its BYE at once.
- ``hangup_now``: logout queues every call's BYE or CANCEL before its un-REGISTER.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sipmessage import Response

from kazoo_actors.actors.call_inbox import Deferred, SipIn
from protocols.sip.actions import CancelTimer, Send
from protocols.sip.errors import LocalProtocolError, ParseError
from protocols.sip.invite_states import SessionState
from protocols.sip.respond_action import Respond
from protocols.sip.sdp_inactive import inactive_answer, inactive_offer

if TYPE_CHECKING:
    from kazoo_actors.actors.call import CallActor

log = logging.getLogger("kazoo_actors.call")

# The transfer role's messages (and responses to them) stay in the call's task.
_TRANSFER_METHODS = ("REFER", "NOTIFY")


def step_now(actor: CallActor, outputs: list[Any]) -> None:
    """Outputs of a session step taken outside the call's task: messages go out at
    once, the rest is handed to the task in order, unless it is settled here."""
    rest: list[Any] = []
    for item in outputs:
        if isinstance(item, Send | Respond):
            actor.router.post(item)
        else:
            rest.append(item)
    if rest and not _settled(actor, rest):
        actor.deliver(Deferred(outputs=rest))


def _settled(actor: CallActor, outputs: list[Any]) -> bool:
    """Settle ``outputs`` here when all of them allow it and the call's task is idle:
    cancelled timers (a stale wake-up of the task finds nothing due) and events the
    program hears without a callback. A timer to start, an end or anything a callback
    or the media stack must see goes to the task, all of it, in order."""
    if not actor.idle:
        return False
    reports = actor.reports
    for item in outputs:
        if not isinstance(item, CancelTimer) and not reports.can_report_now(item):
            return False
    for item in outputs:
        if isinstance(item, CancelTimer):
            actor.cancel_timer(item.name)
        else:
            reports.report_now(item)
    return True


def sip_now(actor: CallActor, item: SipIn) -> bool:
    """Step the session with ``item`` here; False when the call's task must take it."""
    session = actor.session
    if not actor.idle or session is None or session.ended:
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
        log.warning("call %s: dropped a malformed message: %s", actor.call_id, exc)
        return True
    except LocalProtocolError as exc:
        log.warning("call %s: dropped an unexpected message: %s", actor.call_id, exc)
        return True
    step_now(actor, outputs)
    return True


def answer_now(actor: CallActor) -> None:
    """Answer a signalling-only INVITE's offer before the call's task runs, and ring
    unless the program may answer at once (``CallActor.may_answer_at_once``; then the
    task rings only if it did not). An INVITE without a usable offer is left to the
    task, which refuses it."""
    session = actor.session
    assert session is not None  # an incoming call has its session from the start
    offer = session.remote_sdp
    if offer is None:
        return
    try:
        answer = inactive_answer(offer, actor.settings.rng.getrandbits(31))
    except ParseError:
        return
    outputs = session.start()
    if not actor.may_answer_at_once():
        outputs += session.ring()
    actor.answer_sdp = answer
    actor.remote_sdp_applied = True
    actor.offer_answered = True
    step_now(actor, outputs)


def place_now(actor: CallActor) -> None:
    """Send a signalling-only call's INVITE before its task runs (CallError when the
    target is not a SIP address); its failures are the task's to contain from here."""
    actor.invite(inactive_offer(actor.settings.rng.getrandbits(31)))
    actor.started = True


def bye_now(actor: CallActor) -> bool:
    """The program's ``hangup`` of an answered call, stepped in the program's task while
    the call's task is idle: the BYE goes out without waking the call's task. False
    (queue the command) for anything else: a CANCEL or a decline starts a timer or
    ends the call, which the call's task must see."""
    session = actor.session
    if not actor.idle or session is None or session.state is not SessionState.CONFIRMED:
        return False
    step_now(actor, session.hangup())
    return True


def hangup_now(actor: CallActor) -> None:
    """End the call from the account's task, so its BYE or CANCEL is queued at once.

    For logout: the account sends its un-REGISTER right after and closes the
    connection when that is answered, which may be before the call's task runs again.
    """
    session = actor.session
    if session is None or session.ended:
        return
    try:
        outputs = session.hangup()
    except LocalProtocolError:
        return
    step_now(actor, outputs)


__all__ = ["answer_now", "bye_now", "hangup_now", "place_now", "sip_now", "step_now"]
