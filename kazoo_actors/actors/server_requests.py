"""Answering requests the server sends outside any dialog, and what they tell the program.

Out-of-dialog NOTIFY (the Kazoo platform's way of speaking, DESIGN.md):
``registration-overwrite`` gives ``overriding_registration`` (``Overwrote:``)
or ``replaced_registration`` (``Replaced-By:``, after which the account stays
down), ``message-summary`` gives ``voicemail_notification`` with the counts,
anything else ``unknown_notification``; every NOTIFY is answered 200, even one
whose body cannot be read (the server should not retry it at us). OPTIONS is
answered 200; a request for a dialog we do not have 481; any other method 405.
"""

from __future__ import annotations

import attrs
from sipmessage import Request, Response

from kazoo_actors import events
from protocols.sip.errors import ParseError
from protocols.sip.identifiers import new_tag
from protocols.sip.message_summary import MessageSummary
from protocols.sip.notify import UnknownNotify, classify_notify
from protocols.sip.registration_overwrite import OverwriteKind, OverwriteNotice
from protocols.sip.replies import response_to

ALLOWED_METHODS = "OPTIONS, NOTIFY"


@attrs.frozen(kw_only=True)
class Answer:
    response: Response
    events: list[events.AccountEvent] = attrs.field(factory=list)
    replaced: bool = False
    """A Replaced-By NOTIFY: another device took the registration over."""


def answer_request(request: Request) -> Answer:
    method = request.method
    if method == "NOTIFY":
        return _notify(request)
    if method == "OPTIONS":
        response = response_to(request, 200, to_tag=new_tag())
        response.headers.add("Allow", ALLOWED_METHODS)
        response.headers.add("Accept", "application/sdp")
        return Answer(response=response)
    if _has_to_tag(request):
        return Answer(response=response_to(request, 481))
    response = response_to(request, 405, to_tag=new_tag())
    response.headers.add("Allow", ALLOWED_METHODS)
    return Answer(response=response)


def _has_to_tag(request: Request) -> bool:
    try:
        return "tag" in request.to_address.parameters
    except ValueError:
        return False


def _notify(request: Request) -> Answer:
    ok = response_to(request, 200, to_tag=None if _has_to_tag(request) else new_tag())
    try:
        notice = classify_notify(request)
    except ParseError:
        notice = UnknownNotify(
            event=request.headers.get("Event") or "",
            content_type=request.headers.get("Content-Type") or "",
            body=request.body,
        )
    if isinstance(notice, OverwriteNotice):
        if notice.kind is OverwriteKind.REPLACED_BY:
            event = events.notification(
                "replaced_registration", source=notice, contact=notice.contact
            )
            return Answer(response=ok, events=[event], replaced=True)
        event = events.notification(
            "overriding_registration", source=notice, contact=notice.contact
        )
        return Answer(response=ok, events=[event])
    if isinstance(notice, MessageSummary):
        return Answer(response=ok, events=[voicemail_notification(notice)])
    return Answer(response=ok, events=[events.notification("unknown_notification", source=notice)])


def voicemail_notification(summary: MessageSummary) -> events.Notification:
    counts = summary.voice or (summary.counts[0][1] if summary.counts else None)
    return events.notification(
        "voicemail_notification",
        source=summary,
        messages_waiting=summary.messages_waiting,
        message_account=summary.account,
        new_messages=counts.new if counts else None,
        old_messages=counts.old if counts else None,
        urgent_new_messages=counts.urgent_new if counts else None,
        urgent_old_messages=counts.urgent_old if counts else None,
    )
