"""Which header fields are checked on the way in, and how.

Field names are case-insensitive and have compact forms (RFC 3261 section
7.3.3); a parsed message stores the canonical spelling. Every field listed in
``FIELDS`` is parsed by ``parse_message``; its typed value is what the
message's accessors return.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from . import header_syntax as syntax
from .header_checks import address_is_plain, challenge_is_plain

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_OTHER_NAMES = (
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Call-Info",
    "Content-Disposition",
    "Content-Language",
    "Date",
    "Error-Info",
    "In-Reply-To",
    "MIME-Version",
    "Organization",
    "Path",
    "Priority",
    "Proxy-Require",
    "Reason",
    "Reply-To",
    "Require",
    "Server",
    "Timestamp",
    "Unsupported",
    "User-Agent",
    "Warning",
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one field is parsed.

    ``list``: comma-separated elements, stored one element per value;
    ``single``: exactly one value; ``multi``: any number of values, each
    parsed into a list (authentication headers). ``check``, when given,
    answers True only for a value ``parse`` is certain to accept (see
    ``header_checks``), so that parsing can wait until the value is read.
    """

    name: str
    kind: Literal["list", "single", "multi"]
    parse: Callable[[str], object]
    empty_allowed: bool = False
    check: Callable[[str], bool] | None = None


def _remembered(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` with its results kept per text, for fields whose values recur
    from message to message (``CSeq: 2 REGISTER``, ``Content-Length: 0``, a
    transaction's Call-ID). Only for immutable results, which messages can
    share; bounded, so that hostile input cannot grow it; a failing parse
    raises every time."""
    return functools.lru_cache(maxsize=1024)(parse)


def _uint(what: str, maximum: int = syntax.MAX_UINT32) -> Callable[[str], object]:
    return _remembered(lambda text: syntax.parse_uint(text, what, maximum))


def _address(text: str) -> object:
    return syntax.parse_address(text)


def _credentials(text: str) -> object:
    return [syntax.parse_credentials(text)]


FIELDS: dict[str, FieldSpec] = {
    spec.name.lower(): spec
    for spec in (
        FieldSpec("Via", "list", syntax.parse_via),
        # An empty Accept means "no body acceptable" (RFC 3261 section 20.1).
        FieldSpec("Accept", "list", syntax.parse_media_type, empty_allowed=True),
        FieldSpec("Contact", "list", _address, check=address_is_plain),
        FieldSpec("Route", "list", _address, check=address_is_plain),
        FieldSpec("Record-Route", "list", _address, check=address_is_plain),
        FieldSpec("From", "single", _address, check=address_is_plain),
        FieldSpec("To", "single", _address, check=address_is_plain),
        FieldSpec("Refer-To", "single", _address, check=address_is_plain),
        FieldSpec("Call-ID", "single", _remembered(syntax.parse_call_id)),
        FieldSpec("CSeq", "single", _remembered(syntax.parse_cseq)),
        FieldSpec("Max-Forwards", "single", _uint("Max-Forwards", 255)),
        FieldSpec("Content-Length", "single", _uint("Content-Length")),
        FieldSpec("Expires", "single", _uint("Expires")),
        FieldSpec("Min-Expires", "single", _uint("Min-Expires")),
        FieldSpec("Retry-After", "single", _remembered(syntax.parse_retry_after)),
        FieldSpec("Content-Type", "single", _remembered(syntax.parse_media_type)),
        FieldSpec("Event", "single", _remembered(syntax.parse_event)),
        FieldSpec("Subscription-State", "single", _remembered(syntax.parse_subscription_state)),
        FieldSpec("WWW-Authenticate", "multi", syntax.parse_challenges, check=challenge_is_plain),
        FieldSpec("Proxy-Authenticate", "multi", syntax.parse_challenges, check=challenge_is_plain),
        FieldSpec("Authorization", "multi", _credentials),
        FieldSpec("Proxy-Authorization", "multi", _credentials),
        FieldSpec("Date", "single", _remembered(syntax.parse_date)),
    )
}

CANONICAL_NAMES: dict[str, str] = {
    **{name.lower(): name for name in _OTHER_NAMES},
    **{name.lower(): name for name in COMPACT_FORMS.values()},
    **{key: spec.name for key, spec in FIELDS.items()},
    **COMPACT_FORMS,
}


def split_values(spec: FieldSpec, values: list[str]) -> list[str]:
    """The stored form of a list field: one element per value."""
    if spec.kind != "list":
        return values
    elements: list[str] = []
    for value in values:
        if "," in value:
            elements.extend(syntax.split_commas(value))
        elif value or spec.empty_allowed:
            elements.append(value)
        else:
            raise syntax.fail(spec.name, value)
    return elements


def checked_lazily(spec: FieldSpec, stored: list[str]) -> bool:
    """The stored values of a field will parse: its typed value can wait."""
    check = spec.check
    if check is None or (spec.kind == "single" and len(stored) != 1):
        return False
    return all(check(value) for value in stored)


# What a one-value loader answers for a list field's value with a comma: its
# elements need load_values' splitting.
NEEDS_SPLITTING = object()


@functools.lru_cache(maxsize=64)
def one_value_loader(spec: FieldSpec) -> Callable[[str], object]:
    """The typed value ``load_values(spec, [value])`` gives (``None`` when
    checked lazily), for a field on one line whose stored form is ``[value]``.

    parse_message calls one of these per line: deciding the field's kind once
    here, not on every call, is most of what loading a checked value costs.
    A list field's value with a comma answers ``NEEDS_SPLITTING`` instead.
    """
    parse, check = spec.parse, spec.check
    if spec.kind == "single":
        if check is None:
            return parse

        def single(value: str) -> object:
            return None if check(value) else parse(value)

        return single
    if spec.kind == "multi":

        def multi(value: str) -> object:
            if check is not None and check(value):
                return None
            return typed_value(spec, [value])

        return multi

    def one_element(value: str) -> object:
        if "," in value:
            return NEEDS_SPLITTING
        if not value and not spec.empty_allowed:
            raise syntax.fail(spec.name, value)
        if check is not None and check(value):
            return None
        if value and value != "*":
            return [parse(value)]
        return typed_value(spec, [value])

    return one_element


def load_value(spec: FieldSpec, value: str) -> tuple[list[str], object]:
    """``load_values(spec, [value])``: a field on one line, the common case."""
    found = one_value_loader(spec)(value)
    if found is NEEDS_SPLITTING:
        return load_values(spec, [value])
    return [value], found


def load_values(spec: FieldSpec, values: list[str]) -> tuple[list[str], object]:
    """The stored form of a field's values as received, and their typed value,
    or ``None`` for values ``checked_lazily`` (parsed on first read instead).

    One call per field instead of three: the common shapes (one value, no
    comma) skip the list splitting.
    """
    check = spec.check
    if len(values) == 1 and "," not in values[0]:
        value = values[0]
        if not value and not spec.empty_allowed and spec.kind == "list":
            raise syntax.fail(spec.name, value)
        if check is not None and check(value):
            return values, None
        if spec.kind == "single":
            return values, spec.parse(value)
        return values, typed_value(spec, values)
    stored = split_values(spec, values)
    if checked_lazily(spec, stored):
        return stored, None
    return stored, typed_value(spec, stored)


def typed_value(spec: FieldSpec, values: list[str]) -> object:
    """The typed value of a field (``None`` for an absent single field)."""
    if spec.kind == "single":
        if not values:
            return None
        if len(values) > 1:
            raise syntax.fail(f"repeated {spec.name}", ", ".join(values))
        return spec.parse(values[0])
    if spec.kind == "multi":
        items: list[object] = []
        for value in values:
            items.extend(cast("list[object]", spec.parse(value)))
        return items
    elements = split_values(spec, values)
    if spec.name == "Contact" and elements == ["*"]:
        # The REGISTER wildcard (RFC 3261 section 10.2.2): no addresses.
        return []
    return [spec.parse(element) for element in elements if element]
