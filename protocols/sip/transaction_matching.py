"""Transaction matching keys (RFC 3261 sections 17.1.3 and 17.2.3).

- ``client_key(request)`` / ``response_key(response)`` (both
  ``branch_and_method``): (top Via branch, CSeq method). A response belongs
  to the client transaction with the same key, so a CANCEL's response (same
  branch as its INVITE) reaches the CANCEL transaction.
- ``server_key(request)``: (branch, sent-by host, sent-by port, method), with
  ACK counted as INVITE so that the ACK for a non-2xx final reaches the INVITE
  server transaction, while CANCEL keeps its own transaction.
  ``cancelled_key(cancel)`` is the key of the INVITE server transaction a
  CANCEL targets. Requests whose branch lacks the ``z9hG4bK`` cookie (RFC 2543
  peers) are keyed on Request-URI, From tag, Call-ID, CSeq number, top Via and
  method instead (the To tag is left out, so an ACK still finds its INVITE).

Keys are plain tuples of strings: hashing them is all a lookup costs.
"""

from __future__ import annotations

from sipmessage import Request, Response

from . import checked_headers
from .identifiers import MAGIC_COOKIE
from .outgoing_headers import OutgoingHeaders

ClientKey = tuple[str, str]
ServerKey = tuple[str, ...]


def branch_and_method(message: Request | Response) -> ClientKey:
    """The client transaction key of a request we send or a response we receive."""
    headers = message.headers
    if type(headers) is OutgoingHeaders:
        # A request we built, whose builder gave the branch it drew and the method:
        # reading them back would parse our own Via (the store keeps no typed Via).
        key = headers.client_key
        if key is not None:
            return key
    # Every response we receive and every request we send pays this, so it
    # reads the typed accessors directly (a parsed message answers them from
    # its cache) instead of through checked_headers' wrappers, which cost as
    # much as the rest of a transaction step. Anything wrong is re-read
    # through those readers, which raise the ParseError naming the header.
    try:
        via = message.via[0]
        method = message.cseq.method
    except (KeyError, ValueError, IndexError):
        via = checked_headers.top_via(message)
        method = checked_headers.cseq(message).method
    try:
        # Subscript, not Mapping.get: get is one more Python call around it.
        branch = via.parameters["branch"] or ""
    except KeyError:
        branch = ""
    return (branch, method)


# One function under both names: a wrapper per name was one more call per message.
client_key = branch_and_method
response_key = branch_and_method


def _server_key(request: Request, method: str) -> ServerKey:
    via = checked_headers.top_via(request)
    branch = via.parameters.get("branch") or ""
    if branch.startswith(MAGIC_COOKIE):
        port = "" if via.port is None else str(via.port)
        return (branch, via.host.lower(), port, method)
    return (
        "",
        str(request.uri),
        checked_headers.from_tag(request) or "",
        checked_headers.header(request, "Call-ID"),
        str(checked_headers.cseq(request).sequence),
        str(via),
        method,
    )


def server_key(request: Request) -> ServerKey:
    return _server_key(request, "INVITE" if request.method == "ACK" else request.method)


def cancelled_key(cancel: Request) -> ServerKey:
    return _server_key(cancel, "INVITE")
