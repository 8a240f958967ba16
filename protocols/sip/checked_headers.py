"""Typed reads of the header fields transactions and dialogs rely on.

Every reader turns a missing or malformed field into ``ParseError``, the one
remote error type, so that a bad message from the wire never surfaces as a
``KeyError`` or ``IndexError`` deep inside a machine.
"""

from __future__ import annotations

from sipmessage import URI, Address, CSeq, Request, Response, Via

from .errors import ParseError

Message = Request | Response


def header(message: Message, name: str) -> str:
    value = message.headers.get(name)
    if value is None:
        raise ParseError(f"missing {name} header")
    return value


def top_via(message: Message) -> Via:
    values = message.headers.getlist("Via")
    if not values:
        raise ParseError("missing Via header")
    try:
        vias = Via.parse_many(values[0])
    except ValueError as exc:
        raise ParseError(f"invalid Via header: {exc}") from None
    if not vias:
        raise ParseError("empty Via header")
    return vias[0]


def top_via_text(message: Message) -> str:
    """The first Via value as received, split off any comma-joined rest."""
    first = header(message, "Via")
    return str(top_via(message)) if "," in first else first


def cseq(message: Message) -> CSeq:
    try:
        return CSeq.parse(header(message, "CSeq"))
    except ValueError as exc:
        raise ParseError(f"invalid CSeq header: {exc}") from None


def address(message: Message, name: str) -> Address:
    try:
        return Address.parse(header(message, name))
    except ValueError as exc:
        raise ParseError(f"invalid {name} header: {exc}") from None


def addresses(message: Message, name: str) -> list[Address]:
    """Every address of a list header (Contact, Route, Record-Route), in order."""
    found: list[Address] = []
    for value in message.headers.getlist(name):
        try:
            found.extend(Address.parse_many(value))
        except ValueError as exc:
            raise ParseError(f"invalid {name} header: {exc}") from None
    return found


def tag(message: Message, name: str) -> str | None:
    """The ``tag`` parameter of From or To, or None when it has none."""
    return address(message, name).parameters.get("tag")


def contact_uri(message: Message) -> URI | None:
    contacts = addresses(message, "Contact")
    return contacts[0].uri if contacts else None
