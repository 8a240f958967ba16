"""OutgoingHeaders (a store built from a layout, with its text kept and its
lists made on first use) reads, changes and renders exactly as a ParsedHeaders
filled field by field does; its client_key is what the general key reading gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sip_message_strategies import TOKEN_CHARS, vias
from sipmessage import URI, Headers

from protocols.sip.errors import ParseError
from protocols.sip.message import parse_message
from protocols.sip.outgoing_headers import FieldLayout, OutgoingHeaders
from protocols.sip.outgoing_request import OutgoingRequest
from protocols.sip.parsed_headers import ParsedHeaders
from protocols.sip.transaction_matching import branch_and_method

NAMES = st.text(TOKEN_CHARS, min_size=1, max_size=12)
# Any text a value may hold, '%' included (rendering must not read it).
VALUES = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"))
FIELDS = st.lists(st.tuples(NAMES, VALUES), max_size=8, unique_by=lambda f: f[0].lower())
CHANGES = st.lists(
    st.tuples(st.sampled_from(["add", "set", "remove", "setlist", "load"]), NAMES, VALUES),
    max_size=4,
)


def _general(fields: list[tuple[str, str]]) -> ParsedHeaders:
    headers = ParsedHeaders()
    for name, value in fields:
        headers.load(name, [value])
    return headers


def _same(fast: ParsedHeaders, general: ParsedHeaders) -> None:
    assert str(fast) == Headers.__str__(general) == str(general)
    assert fast.keys() == general.keys()
    assert fast.index == general.index
    for name in general.keys():  # noqa: SIM118 (Headers is not iterable)
        assert fast.get(name) == general.get(name)
        assert fast.getlist(name) == general.getlist(name)
        assert (name in fast) and fast[name] == general[name]


def _change(headers: ParsedHeaders, how: str, name: str, value: str) -> None:
    if how == "add":
        headers.add(name, value)
    elif how == "set":
        headers.set(name, value)
    elif how == "remove":
        headers.remove(name)
    elif how == "setlist":
        headers.setlist(name, [value, value])
    else:
        headers.load(name, [value])


@given(fields=FIELDS, changes=CHANGES, read_first=st.booleans())
def test_reads_changes_and_text_equal_the_general_store(
    fields: list[tuple[str, str]], changes: list[tuple[str, str, str]], read_first: bool
) -> None:
    layout = FieldLayout(tuple(name for name, _ in fields))
    fast = OutgoingHeaders(layout, tuple(value for _, value in fields), client_key=("b", "M"))
    general = _general(fields)
    # The text before any list is made, then after (in either order).
    if read_first:
        _same(fast, general)
    assert str(fast) == Headers.__str__(general)
    _same(fast, general)
    assert fast.client_key == ("b", "M")
    for how, name, value in changes:
        _change(fast, how, name, value)
        _change(general, how, name, value)
        assert fast.client_key is None
        _same(fast, general)


@given(fields=FIELDS, how=st.sampled_from(["add", "set", "remove", "setlist", "load"]))
def test_a_change_before_any_read_acts_on_the_given_fields(
    fields: list[tuple[str, str]], how: str
) -> None:
    layout = FieldLayout(tuple(name for name, _ in fields))
    fast = OutgoingHeaders(layout, tuple(value for _, value in fields))
    general = _general(fields)
    name = fields[0][0] if fields else "X-New"
    _change(fast, how, name, "v")
    _change(general, how, name, "v")
    _same(fast, general)


def _item(headers: ParsedHeaders, name: str) -> str | None:
    try:
        return headers[name]
    except KeyError:
        return None


FIRST_READS: dict[str, Callable[[ParsedHeaders, str], object]] = {
    "keys": lambda h, name: h.keys(),
    "index": lambda h, name: dict(h.index),
    "in": lambda h, name: name in h,
    "get": lambda h, name: h.get(name),
    "getlist": lambda h, name: h.getlist(name),
    "getitem": _item,
    "typed": lambda h, name: h.typed(name.lower(), list),
    "str": lambda h, name: str(h),
}


@given(fields=FIELDS, first=st.sampled_from(sorted(FIRST_READS)), other=NAMES)
def test_any_read_first_makes_the_fields_it_reads(
    fields: list[tuple[str, str]], first: str, other: str
) -> None:
    """Whichever method reads the store first finds the given fields (each one
    makes the lists while they are not made), and later reads agree."""
    layout = FieldLayout(tuple(name for name, _ in fields))
    general = _general(fields)
    for name in [*(name for name, _ in fields), other]:
        fast = OutgoingHeaders(layout, tuple(value for _, value in fields))
        read = FIRST_READS[first]
        assert read(fast, name) == read(_general(fields), name)
        _same(fast, general)


def test_a_layout_names_each_field_once_and_takes_one_value_each() -> None:
    with pytest.raises(ValueError):
        FieldLayout(("Via", "via"))
    with pytest.raises(ValueError):
        OutgoingHeaders(FieldLayout(("Via", "To")), ("v",))


CALL = ("From", "To", "Call-ID", "CSeq")


@given(via=vias(), method=st.sampled_from(["REGISTER", "OPTIONS", "SUBSCRIBE"]))
def test_client_key_given_equals_the_key_read_from_the_values(via: str, method: str) -> None:
    """What a builder passes (the branch it drew, its method) is what the general
    reading of the same fields gives; the typed values it skipped parse on read."""
    values = (via.replace("\r\n", ""), "<sip:a@b>;tag=1", "<sip:a@b>", "c1", f"7 {method}")
    layout = FieldLayout(("Via", *CALL))
    general = parse_message(f"{method} sip:b SIP/2.0\r\n{OutgoingHeaders(layout, values)}".encode())
    expected = branch_and_method(general)
    request = OutgoingRequest(
        method,
        URI.parse("sip:b"),
        headers=OutgoingHeaders(layout, values, client_key=expected),
    )
    assert branch_and_method(request) == expected
    assert request.via == general.via
    assert request.cseq == general.cseq
    # Without a given key the general reading runs on the kept values.
    request.headers = OutgoingHeaders(layout, values)
    assert branch_and_method(request) == expected


def test_malformed_values_raise_parse_error_when_read() -> None:
    layout = FieldLayout(("Via", *CALL))
    values = ("not a via", "<sip:a@b>;tag=1", "<sip:a@b>", "c1", "x REGISTER")
    request = OutgoingRequest(
        "REGISTER", URI.parse("sip:b"), headers=OutgoingHeaders(layout, values)
    )
    with pytest.raises(ParseError):
        branch_and_method(request)
    with pytest.raises(ParseError):
        request.via  # noqa: B018
    with pytest.raises(ParseError):
        request.cseq  # noqa: B018
