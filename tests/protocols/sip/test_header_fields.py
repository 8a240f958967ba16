"""The field table: a parse remembered per text answers as a fresh parse would."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip.errors import ParseError
from protocols.sip.header_fields import (
    FIELDS,
    NEEDS_SPLITTING,
    FieldSpec,
    checked_lazily,
    load_value,
    load_values,
    one_value_loader,
    split_values,
    typed_value,
)

_REMEMBERED = sorted(key for key, spec in FIELDS.items() if hasattr(spec.parse, "__wrapped__"))

# Values of every remembered field, valid and not, with one random character
# spliced in half of the time.
_SAMPLES = [
    "2 REGISTER",
    "4294967295 INVITE",
    "4294967296 INVITE",
    "1  BYE",
    "0",
    "70",
    "256",
    "007",
    "abc@host.invalid",
    "a b",
    "application/sdp",
    "text/plain;charset=utf-8",
    "message-summary",
    "dialog;id=7",
    "active;expires=60",
    "terminated;reason=timeout",
    "pending;expires=x",
    "120 (busy);duration=60",
    "5 (a (nested) one)",
    "Thu, 26 Nov 2026 09:00:00 GMT",
    "Thu, 31 Feb 2026 09:00:00 GMT",
    "",
]


@st.composite
def field_texts(draw: st.DrawFn) -> str:
    text = draw(st.one_of(st.sampled_from(_SAMPLES), st.text(max_size=30)))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([" ", ";", "=", "(", '"', "é", "9"])) + text[at:]
    return text


def _outcome(parse: Callable[..., object], *args: object) -> object:
    """What ``parse(*args)`` returns, or the ParseError it raises as a comparable tuple."""
    try:
        return parse(*args)
    except ParseError as exc:
        return ("ParseError", str(exc))


def test_the_recurring_fields_are_remembered() -> None:
    assert {"cseq", "call-id", "content-length", "expires"} <= set(_REMEMBERED)
    assert "via" not in _REMEMBERED  # every Via has its own branch


@pytest.mark.parametrize("key", _REMEMBERED)
@given(text=field_texts())
def test_a_remembered_parse_equals_a_fresh_one(key: str, text: str) -> None:
    spec = FIELDS[key]
    fresh = _outcome(spec.parse.__wrapped__, text)  # type: ignore[attr-defined]
    # The first call may fill the memo, the second reads it; a failure is
    # never remembered, so it raises both times.
    assert _outcome(spec.parse, text) == fresh
    assert _outcome(spec.parse, text) == fresh


def _general_load(spec: FieldSpec, values: list[str]) -> object:
    """What parse_message did before load_values: split, check, else parse."""
    try:
        stored = split_values(spec, values)
        return stored, (None if checked_lazily(spec, stored) else typed_value(spec, stored))
    except ParseError as exc:
        return ("ParseError", str(exc))


_VALUE_SAMPLES = [
    *_SAMPLES,
    "SIP/2.0/WS h.invalid;branch=z9hG4bK1;rport",
    "SIP/2.0/WS h.invalid;branch=z9hG4bK1, SIP/2.0/UDP 1.2.3.4:5060",
    "<sip:a@b>;tag=1",
    '"A, b" <sip:a@b>, <sip:c@d>;expires=5',
    "sip:a@b",
    "*",
    'Digest realm="a", nonce="b", qop="auth"',
    'Digest realm="a", Realm="b"',
    'Digest username="u", realm="r", nonce="n", uri="sip:r", response="x"',
]


@given(
    st.sampled_from(sorted(FIELDS)),
    st.lists(
        st.one_of(st.sampled_from(_VALUE_SAMPLES), field_texts()).map(lambda v: v.strip(" \t")),
        min_size=1,
        max_size=3,
    ),
)
def test_loading_values_equals_splitting_checking_and_parsing(key: str, values: list[str]) -> None:
    spec = FIELDS[key]
    general = _general_load(spec, list(values))
    assert _outcome(load_values, spec, list(values)) == general


@given(
    st.sampled_from(sorted(FIELDS)),
    st.one_of(st.sampled_from(_VALUE_SAMPLES), field_texts()).map(lambda v: v.strip(" \t")),
)
def test_loading_one_value_equals_loading_a_list_of_it(key: str, value: str) -> None:
    spec = FIELDS[key]
    assert _outcome(load_value, spec, value) == _outcome(load_values, spec, [value])


@given(
    st.sampled_from(sorted(FIELDS)),
    st.one_of(st.sampled_from(_VALUE_SAMPLES), field_texts()).map(lambda v: v.strip(" \t")),
)
def test_a_one_value_loader_answers_what_load_value_does(key: str, value: str) -> None:
    spec = FIELDS[key]
    expected = _outcome(load_value, spec, value)
    try:
        typed = one_value_loader(spec)(value)
    except ParseError as exc:
        found: object = ("ParseError", str(exc))
    else:
        if typed is NEEDS_SPLITTING:
            # Only a list field's value with a comma is left to load_values.
            assert spec.kind == "list"
            assert "," in value
            return
        found = ([value], typed)
    assert found == expected
