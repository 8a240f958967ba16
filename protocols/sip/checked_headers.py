"""Typed reads of the header fields transactions and dialogs rely on.

They go through the message's own accessors, so a message from
``parse_message`` answers from its cache of checked values, while a plain
sipmessage message is parsed on the spot. Every reader turns a missing or
malformed field into ``ParseError``, the one remote error type, so that a bad
message never surfaces as a ``KeyError`` or ``IndexError`` inside a machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sipmessage import URI, Address, CSeq, Request, Response, Via

from .errors import ParseError

Message = Request | Response
T = TypeVar("T")


def _read(what: str, reader: Callable[[], T]) -> T:
    try:
        return reader()
    except KeyError:
        raise ParseError(f"missing {what} header") from None
    except ValueError as exc:
        raise ParseError(f"invalid {what} header: {exc}") from None


def header(message: Message, name: str) -> str:
    value = message.headers.get(name)
    if value is None:
        raise ParseError(f"missing {name} header")
    return value


def top_via(message: Message) -> Via:
    vias = _read("Via", lambda: message.via)
    if not vias:
        raise ParseError("missing Via header")
    return vias[0]


def top_via_text(message: Message) -> str:
    """The first Via value as received, split off any comma-joined rest."""
    first = header(message, "Via")
    return str(top_via(message)) if "," in first else first


def cseq(message: Message) -> CSeq:
    return _read("CSeq", lambda: message.cseq)


def from_address(message: Message) -> Address:
    return _read("From", lambda: message.from_address)


def to_address(message: Message) -> Address:
    return _read("To", lambda: message.to_address)


def contacts(message: Message) -> list[Address]:
    return _read("Contact", lambda: message.contact)


def record_route(message: Message) -> list[Address]:
    return _read("Record-Route", lambda: message.record_route)


def from_tag(message: Message) -> str | None:
    return from_address(message).parameters.get("tag")


def to_tag(message: Message) -> str | None:
    return to_address(message).parameters.get("tag")


def contact_uri(message: Message) -> URI | None:
    found = contacts(message)
    return found[0].uri if found else None
