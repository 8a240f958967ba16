"""An address of record (RFC 3261 s.10.2.1), as a usage is configured with it."""

from __future__ import annotations

import functools
import re

from sipmessage import URI

from .configured_uri import parse_configured_uri
from .header_syntax import HOSTNAME, UNRESERVED

# ``sip:user@host`` with an unescaped user and a host name: the shape of every
# AOR an engine registers by the thousand. Its scheme, user and host are
# exactly what parse_aor finds (nothing to unescape), read by splitting at the
# first ":" and "@" (neither is in a plain user) and checking the two parts,
# instead of the whole URI grammar and its Parameters (a tenth the cost).
PLAIN_USER = re.compile(rf"[{UNRESERVED}]+")
_PLAIN_HOST = re.compile(HOSTNAME)


def identity_user(identity: str) -> str:
    """The user part of a Kazoo identity: ``sip:user@realm``, ``user@realm`` or a bare
    ``user`` (the seed's examples use all three); '' when it has none.

    The one reading for both the Digest username and the AOR's user, so that an account
    authenticates as the user it registers.
    """
    if identity.isalnum():
        # The usual identity, a bare user: no space to strip, no scheme, '@' or ';'
        # to cut (an eighth of the cost, three times for every account set up).
        return identity
    rest = identity.strip()
    if ":" in rest:  # a bare user (the usual identity) has no scheme to strip
        for scheme in ("sips:", "sip:"):
            if rest.lower().startswith(scheme):
                rest = rest[len(scheme) :]
                break
    return rest.partition("@")[0].partition(";")[0]


def parse_aor(aor: str) -> URI:
    """The URI of ``aor``; ValueError (a configuration error) unless it has a user and a host."""
    uri = parse_configured_uri(aor, "address of record")
    if not uri.user or not uri.host:
        raise ValueError(f"address of record {aor!r} needs a user and a host")
    return uri


@functools.lru_cache(maxsize=64)
def _is_plain_host(host: str) -> bool:
    """Remembered: the accounts of an engine register with one registrar host or a few,
    and checking it was half the cost of reading a plain AOR."""
    return _PLAIN_HOST.fullmatch(host) is not None


def plain_aor_parts(aor: str) -> tuple[str, str, str] | None:
    """The scheme, user and host of a plain ``sip:user@host`` AOR (see PLAIN_USER),
    None for any other shape: then ``aor_parts`` reads it by the URI grammar."""
    scheme, _, rest = aor.partition(":")
    if scheme != "sip" and scheme != "sips":
        return None
    user, _, host = rest.partition("@")
    # Letters and digits, the usual user, are unreserved: no regex needed for them.
    if not (user.isascii() and user.isalnum()) and PLAIN_USER.fullmatch(user) is None:
        return None
    if not _is_plain_host(host):
        return None
    return scheme, user, host


def aor_parts(aor: str) -> tuple[str, str, str]:
    """The scheme, user and host of ``aor``, as ``parse_aor`` finds them (same errors)."""
    plain = plain_aor_parts(aor)
    if plain is not None:
        return plain
    uri = parse_aor(aor)
    return uri.scheme, uri.user or "", uri.host
