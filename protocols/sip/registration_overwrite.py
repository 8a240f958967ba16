"""Kazoo's registration-overwrite NOTIFY body (``Event: registration-overwrite``).

Kazoo tells the device that took over a registration ``Overwrote:<old contact>``
and the device that lost it ``Replaced-By:<new contact>``, as text/plain.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import ParseError


class OverwriteKind(enum.Enum):
    OVERWROTE = "overwrote"
    """We took the registration over from ``contact``."""
    REPLACED_BY = "replaced-by"
    """``contact`` took our registration over."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OverwriteNotice:
    kind: OverwriteKind
    contact: str


def parse_registration_overwrite(body: bytes) -> OverwriteNotice:
    """Read the one ``Overwrote:`` or ``Replaced-By:`` line (any case, any blank lines)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("registration-overwrite body is not UTF-8") from exc
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ParseError(f"registration-overwrite body has {len(lines)} lines, expected 1")
    name, colon, value = lines[0].partition(":")
    if not colon:
        raise ParseError("registration-overwrite line has no colon")
    try:
        kind = OverwriteKind(name.strip().lower())
    except ValueError:
        raise ParseError(f"unknown registration-overwrite field {name.strip()!r}") from None
    contact = value.strip()
    if not contact:
        raise ParseError("registration-overwrite line has no contact")
    return OverwriteNotice(kind=kind, contact=contact)
