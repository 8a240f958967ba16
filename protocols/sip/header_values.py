"""Typed values of SIP header fields that sipmessage has no class for.

They are frozen like sipmessage's own ``Via``, ``Address`` and ``CSeq``, so that
a parsed message can hand the same objects out again without copying.
"""

from __future__ import annotations

import dataclasses

from sipmessage import URI, Parameters


@dataclasses.dataclass(frozen=True)
class URIWithHeaders(URI):
    """A SIP or SIPS URI carrying ``?name=value&...`` headers (RFC 3261 section 19.1.1).

    Only allowed inside ``<...>`` (e.g. ``Refer-To: <sip:b@x?Replaces=...>``);
    ``headers`` is kept escaped, exactly as received.
    """

    headers: str = ""

    def __str__(self) -> str:
        return URI.__str__(self) + "?" + self.headers


@dataclasses.dataclass(frozen=True)
class AbsoluteURI(URI):
    """A URI of another scheme (RFC 3261 ``absoluteURI``), kept opaque.

    The stack cannot route to it, but the grammar allows it in the
    Request-URI and in name-addr values, so it must not fail the parse.
    """

    opaque: str = ""

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


@dataclasses.dataclass(frozen=True)
class Event:
    """An ``Event`` header (RFC 6665 section 8.2.1): package plus parameters."""

    package: str
    parameters: Parameters = dataclasses.field(default_factory=Parameters)

    @property
    def id(self) -> str | None:
        return self.parameters.get("id")


@dataclasses.dataclass(frozen=True)
class SubscriptionState:
    """A ``Subscription-State`` header (RFC 6665 section 8.2.3)."""

    state: str
    parameters: Parameters = dataclasses.field(default_factory=Parameters)

    @property
    def expires(self) -> int | None:
        value = self.parameters.get("expires")
        return None if value is None else int(value)

    @property
    def reason(self) -> str | None:
        return self.parameters.get("reason")


@dataclasses.dataclass(frozen=True)
class RetryAfter:
    """A ``Retry-After`` header (RFC 3261 section 20.33)."""

    seconds: int
    comment: str = ""
    parameters: Parameters = dataclasses.field(default_factory=Parameters)
