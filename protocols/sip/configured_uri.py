"""URIs the program gives (addresses of record, registrars, call and transfer
targets), read by the RFC 3261 grammar of ``header_syntax``.

Why not ``sipmessage.URI.parse``: its hostname rule refuses a top label with a
digit after its letters, so an account whose realm is ``pbx1`` (a LAN host name,
valid by RFC 3261 s.25.1) could not even build its first REGISTER, and the error
("URI is not valid") named neither the setting nor the text. A wrong configured
URI is the program's error, not the server's: ``ValueError`` naming what was
given, never the wire's ``ParseError``.
"""

from __future__ import annotations

from sipmessage import URI

from .errors import ParseError
from .header_syntax import parse_uri

SIP_SCHEMES = ("sip", "sips")


def parse_configured_uri(text: str, what: str, schemes: tuple[str, ...] = SIP_SCHEMES) -> URI:
    """``text`` as a URI of one of ``schemes``; ValueError naming ``what`` otherwise."""
    try:
        uri = parse_uri(text, allow_headers=False)
    except ParseError as exc:
        raise ValueError(f"{what} {text!r} is not a valid URI ({exc})") from None
    if uri.scheme.lower() not in schemes:
        raise ValueError(f"{what} {text!r} is not a {' or '.join(schemes)} URI")
    return uri
