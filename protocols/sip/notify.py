"""Classify an out-of-dialog NOTIFY by its Event package and body type.

The engine turns the result into the seed's notifications: an
``OverwriteNotice`` into overriding/replaced registration, a
``MessageSummary`` into a voicemail notification, anything else into an
unknown notification (and the NOTIFY is still answered 200).
"""

from __future__ import annotations

from dataclasses import dataclass

from sipmessage import Request

from .message_summary import CONTENT_TYPE as MESSAGE_SUMMARY_TYPE
from .message_summary import MessageSummary, parse_message_summary
from .registration_overwrite import OverwriteNotice, parse_registration_overwrite

REGISTRATION_OVERWRITE = "registration-overwrite"
MESSAGE_SUMMARY = "message-summary"


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownNotify:
    event: str
    content_type: str
    body: bytes


def _token_before_params(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def classify_notify(request: Request) -> OverwriteNotice | MessageSummary | UnknownNotify:
    """What a NOTIFY says; ParseError when a known package's body is malformed.

    A registration-overwrite body is taken when it is text/plain or untyped
    (Kazoo always sends text/plain); a message-summary body only with its own
    content type (RFC 3842 s.5). An empty message-summary body is a keep-alive
    style NOTIFY that carries no state and is reported as unknown.
    """
    if request.method != "NOTIFY":
        raise ValueError(f"classify_notify given a {request.method} request")
    event = _token_before_params(request.headers.get("Event"))
    content_type = _token_before_params(request.headers.get("Content-Type"))
    if event == REGISTRATION_OVERWRITE and content_type in ("text/plain", ""):
        return parse_registration_overwrite(request.body)
    if event == MESSAGE_SUMMARY and content_type == MESSAGE_SUMMARY_TYPE and request.body.strip():
        return parse_message_summary(request.body)
    return UnknownNotify(event=event, content_type=content_type, body=request.body)
