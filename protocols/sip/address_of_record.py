"""An address of record (RFC 3261 s.10.2.1), as a usage is configured with it."""

from __future__ import annotations

from sipmessage import URI


def parse_aor(aor: str) -> URI:
    """The URI of ``aor``; ValueError (a configuration error) unless it has a user and a host."""
    uri = URI.parse(aor)
    if not uri.user or not uri.host:
        raise ValueError(f"address of record {aor!r} needs a user and a host")
    return uri
