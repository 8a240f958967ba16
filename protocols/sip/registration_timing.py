"""How long a registration lasts and when to refresh it.

The registrar's clock starts when it processes the REGISTER, which happens
after we sent it; so the binding is certain to last until ``sent_at +
granted`` and the refresh is scheduled against that instant, not against the
arrival of the 200 (RFC 3261 s.10.2.4).
"""

from __future__ import annotations

import random
import re

from sipmessage import Response

from . import header_syntax as syntax
from .errors import ParseError
from .header_checks import address_is_plain, plain_address_parts

_DIGITS = re.compile(r"\s*(\d{1,10})\b")

REFRESH_WINDOW = (0.5, 0.85)
"""The refresh falls at a random fraction of the granted expiry in this range."""
_EARLIEST, _LATEST = REFRESH_WINDOW
_WINDOW_WIDTH = _LATEST - _EARLIEST
MAX_GUARD = 5.0
"""Seconds the refresh is always ahead of expiry (half the expiry when shorter)."""


def leading_seconds(value: str | None) -> int | None:
    """The delta-seconds at the start of Expires, Min-Expires or Retry-After."""
    if value is None:
        return None
    match = _DIGITS.match(value)
    return int(match.group(1)) if match else None


def _unquote(value: str | None) -> str:
    return (value or "").strip().strip('"')


def granted_expiry(
    response: Response,
    contact_host: str,
    instance: str,
    requested: int,
    *,
    expires_prefix: str = "",
) -> int:
    """The expiry the registrar granted to our binding.

    Our Contact's ``expires`` parameter in the 2xx wins (the registrar lists
    every binding of the AOR, other devices' too), then the Expires header,
    then what we asked for. Malformed Contact values are skipped, not fatal.

    ``expires_prefix`` is ``<our Contact URI>;expires=`` when that URI's user and
    host are plain (letters, digits, marks): a well-formed value that starts with
    it, as Kamailio writes our binding back, is ours and its ``expires`` follows
    the prefix, read without splitting the value's other parameters.
    """
    host = contact_host.lower()
    for value in response.headers.getlist("Contact"):
        if (
            expires_prefix
            and value.startswith(expires_prefix)
            and "," not in value
            and address_is_plain(value)
        ):
            # A plain value has no repeated parameter: this is its only expires.
            match = _DIGITS.match(value, len(expires_prefix))
            if match is not None:
                return int(match.group(1))
        if host not in value.lower() and instance not in value:
            continue  # another device's binding: not worth parsing
        parts = plain_address_parts(value.strip(" \t")) if "," not in value else None
        if parts is not None:
            uri_host, params = parts
            if uri_host.lower() == host or _unquote(params.get("+sip.instance")) == instance:
                seconds = leading_seconds(params.get("expires"))
                if seconds is not None:
                    return seconds
            continue
        try:
            # Parsed messages hold one element per value already.
            items = syntax.split_commas(value) if "," in value else [value.strip(" \t")]
            addresses = [syntax.parse_address(item) for item in items]
        except ParseError:
            continue
        for address in addresses:
            ours = (address.uri.host or "").lower() == host or (
                _unquote(address.parameters.get("+sip.instance")) == instance
            )
            if ours:
                seconds = leading_seconds(address.parameters.get("expires"))
                if seconds is not None:
                    return seconds
    header = leading_seconds(response.headers.get("Expires"))
    return header if header is not None else requested


def refresh_delay(granted: int, sent_at: float, now: float, rng: random.Random) -> float:
    """Seconds from ``now`` until the refresh, strictly before the binding lapses.

    A jittered point in ``REFRESH_WINDOW`` of the expiry spreads the refreshes
    of many accounts; the guard keeps it clear of the deadline. When ``now`` is
    already past the guard point (a very slow 200) the refresh is immediate.
    """
    guard = min(MAX_GUARD, granted / 2)
    # rng.uniform(*REFRESH_WINDOW), its formula written out: one call less per refresh.
    fraction = _EARLIEST + _WINDOW_WIDTH * rng.random()
    target = sent_at + granted * fraction
    latest = sent_at + granted - guard
    return max(0.0, min(target, latest) - now)
