"""Requests the transaction layer builds itself from an INVITE.

- ``build_non2xx_ack(invite, response)``: the ACK an INVITE client transaction
  sends for a 3xx-6xx final (RFC 3261 section 17.1.1.3): the INVITE's
  Request-URI, Call-ID, From, CSeq number and Route headers, its top Via only
  (so the ACK matches the server transaction), and To from the response (it
  carries the UAS's tag).
- ``build_cancel(invite)``: a CANCEL for a pending INVITE (section 9.1), sent
  in its own non-INVITE client transaction. Request-URI, Call-ID, From, To,
  CSeq number, top Via (same branch) and Route are the INVITE's; a UAC should
  only send it once the INVITE got a provisional response
  (``InviteClientTransaction.can_cancel``).
"""

from __future__ import annotations

from sipmessage import Request, Response

from . import checked_headers

MAX_FORWARDS = "70"


def _copy_of_invite(invite: Request, method: str, to_value: str) -> Request:
    sequence = checked_headers.cseq(invite).sequence
    request = Request(method, invite.uri)
    request.headers.add("Via", checked_headers.top_via_text(invite))
    for route in invite.headers.getlist("Route"):
        request.headers.add("Route", route)
    request.headers.add("Max-Forwards", MAX_FORWARDS)
    request.headers.add("From", checked_headers.header(invite, "From"))
    request.headers.add("To", to_value)
    request.headers.add("Call-ID", checked_headers.header(invite, "Call-ID"))
    request.headers.add("CSeq", f"{sequence} {method}")
    request.headers.add("Content-Length", "0")
    return request


def build_non2xx_ack(invite: Request, response: Response) -> Request:
    return _copy_of_invite(invite, "ACK", checked_headers.header(response, "To"))


def build_cancel(invite: Request) -> Request:
    return _copy_of_invite(invite, "CANCEL", checked_headers.header(invite, "To"))
