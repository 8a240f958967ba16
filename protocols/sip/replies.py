"""Building a response to a request (RFC 3261 section 8.2.6)."""

from __future__ import annotations

from sipmessage import Request

from .message import SipResponse

REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

_COPIED_HEADERS = ("Via", "From", "Call-ID", "CSeq")


def reason_phrase(code: int) -> str:
    return REASON_PHRASES.get(code, "Unknown")


def response_to(
    request: Request,
    code: int,
    phrase: str | None = None,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> SipResponse:
    """A response carrying the request's Via, From, To, Call-ID and CSeq.

    ``to_tag`` is added to To unless it already has one; a 100 Trying never
    gets one (section 8.2.6.2).
    """
    # A SipResponse reads the copied headers with our checked parsers, which
    # accept what sipmessage's own do not (IPv6 received=, quoted commas).
    response = SipResponse(code, phrase or reason_phrase(code), body=body)
    for name in _COPIED_HEADERS:
        for value in request.headers.getlist(name):
            response.headers.add(name, value)
    to_value = request.headers.get("To") or ""
    if to_tag and code != 100 and "tag" not in request.to_address.parameters:
        to_value = f"{to_value};tag={to_tag}"
    response.headers.add("To", to_value)
    if content_type and body:
        response.headers.add("Content-Type", content_type)
    response.headers.add("Content-Length", str(len(body)))
    return response
