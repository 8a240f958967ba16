"""The header block every request we originate starts with (RFC 3261 s.8.1.1).

Via, Route, Max-Forwards, From, To, Call-ID and CSeq, in that order. Via and
CSeq go in with their typed values as well as their text, so a transaction's
key comes from the branch we drew instead of parsing our own Via again (a
third of the cost of sending a request).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sipmessage import URI, CSeq, Via

from .outgoing_request import OutgoingRequest
from .parsed_headers import ParsedHeaders

MAX_FORWARDS = "70"


def start_request(
    method: str,
    uri: URI,
    *,
    via: Via,
    via_text: str | None = None,
    uri_text: str | None = None,
    from_: str,
    to: str,
    call_id: str,
    cseq: int,
    routes: Sequence[str] = (),
    body: bytes = b"",
) -> OutgoingRequest:
    """A new request with its mandatory headers; the caller adds the rest.

    ``via_text`` is ``str(via)`` and ``uri_text`` is ``str(uri)`` when the caller
    has them already: rendering a Via's or a URI's parameters through sipmessage
    costs more than the rest of the block.
    """
    request = OutgoingRequest(method, uri, body=body, uri_text=uri_text)
    headers = cast(ParsedHeaders, request.headers)
    headers.load("Via", [str(via) if via_text is None else via_text], [via])
    for route in routes:
        headers.add("Route", route)
    headers.load("Max-Forwards", [MAX_FORWARDS])
    headers.load("From", [from_])
    headers.load("To", [to])
    headers.load("Call-ID", [call_id])
    headers.load("CSeq", [f"{cseq} {method}"], CSeq(sequence=cseq, method=method))
    return request
