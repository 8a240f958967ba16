"""An address of record (RFC 3261 s.10.2.1), as a usage is configured with it."""

from __future__ import annotations

import re

from sipmessage import URI

from .header_syntax import UNRESERVED

# ``sip:user@host`` with an unescaped user and a host name: the shape of every
# AOR an engine registers by the thousand. Its scheme, user and host are the
# three groups, exactly what URI.parse finds (nothing to unescape), read by one
# regex instead of sipmessage's URI grammar and Parameters (a tenth the cost).
_PLAIN_AOR = re.compile(
    rf"(sips?):([{UNRESERVED}]+)@"
    r"((?:[A-Za-z0-9]+(?:-+[A-Za-z0-9]+)*\.)*[A-Za-z]+(?:-+[A-Za-z0-9]+)*)"
)


def identity_user(identity: str) -> str:
    """The user part of a Kazoo identity: ``sip:user@realm``, ``user@realm`` or a bare
    ``user`` (the seed's examples use all three); '' when it has none.

    The one reading for both the Digest username and the AOR's user, so that an account
    authenticates as the user it registers.
    """
    rest = identity.strip()
    if ":" in rest:  # a bare user (the usual identity) has no scheme to strip
        for scheme in ("sips:", "sip:"):
            if rest.lower().startswith(scheme):
                rest = rest[len(scheme) :]
                break
    return rest.partition("@")[0].partition(";")[0]


def parse_aor(aor: str) -> URI:
    """The URI of ``aor``; ValueError (a configuration error) unless it has a user and a host."""
    uri = URI.parse(aor)
    if not uri.user or not uri.host:
        raise ValueError(f"address of record {aor!r} needs a user and a host")
    return uri


def aor_parts(aor: str) -> tuple[str, str, str]:
    """The scheme, user and host of ``aor``, as ``parse_aor`` finds them (same errors)."""
    plain = _PLAIN_AOR.fullmatch(aor)
    if plain is not None:
        scheme, user, host = plain.groups()
        return scheme, user, host
    uri = parse_aor(aor)
    return uri.scheme, uri.user or "", uri.host
