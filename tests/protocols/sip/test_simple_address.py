"""The string-operation read of echoed addresses agrees with header_checks' pattern."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocols.sip import header_checks
from protocols.sip import header_syntax as syntax
from protocols.sip.simple_address import simple_address_parts

KAMAILIO_FROM = "<sip:kazoo17@kazoo.test>;tag=ab3kq0x9zm"
KAMAILIO_TO = "<sip:kazoo17@kazoo.test>;tag=5a52a36c56f4bfa3b8b3ca95a089b64f.7db40000"
KAMAILIO_CONTACT = (
    "<sip:kazoo17@vyqkh0x58aee.invalid;transport=ws>;expires=600;"
    'received="sip:127.0.0.1:33606;transport=ws";'
    '+sip.instance="<urn:uuid:414c343c-1027-44d1-8386-bbc4cd613e30>";reg-id=1'
)


def _general(text: str) -> tuple[str, str] | None:
    """What header_checks' pattern path answers: its host and params groups."""
    match = header_checks._plain_address_match(text)
    if match is None:
        return None
    host, params = match.group("host", "params")
    return host, params


@pytest.mark.parametrize(
    "text",
    [
        KAMAILIO_FROM,
        KAMAILIO_TO,
        KAMAILIO_CONTACT,
        "<sips:1@a1.b2.c3;lr>",
        '<sip:u@h>;a="";B=x;c',
    ],
)
def test_the_echoed_shapes_are_read_without_the_pattern(text: str) -> None:
    parts = simple_address_parts(text)
    assert parts is not None
    assert parts == _general(text)


@pytest.mark.parametrize(
    "text",
    [
        # Valid for the pattern, but outside this narrowing: the pattern decides.
        '"Alice" <sip:a@h>',
        "<sip:h.invalid>",
        "<sip:a.b@h>",
        "<sip:a@h-1.example>",
        "<sip:a@1.2.3.4>",
        "<sip:a@h:5060>",
        "<sip:a@h.>",
        "<sip:a@h;lr;x=1>",
        "<sip:a@h;r2=on-x>",
        # Not addresses the pattern takes either.
        "<sip:a@h>;tag=1;TAG=2",
        '<sip:a@h>;q="a\\"b"',
        '<sip:a@h>;e="',
        '<sip:a@h>;e="x"y',
        '<sip:a@h>;e"x"',
        "<sip:a@h>;x=",
        "<sip:a@h>;;x",
        "<sip:a@h>tag=1",
        "<sip:a@h>;a=b=c",
        "<sip:a@1h>",
        "<sip:a@h..b>",
        "<sip:a@.h>",
        "<sip:é@h>",
        "<sip:a@hé>",
        "<sip:a@h",
        "sip:a@h",
    ],
)
def test_other_shapes_are_left_to_the_pattern(text: str) -> None:
    assert simple_address_parts(text) is None


# Slot by slot: (usual choices, edge cases), mostly the echoed shape with every
# edge of the narrowing and of the pattern in reach, then maybe one character
# spliced in anywhere, so that examples land on both sides of every edge.
_SCHEMES = (["<sip:", "<sips:"], ["<SIP:", "<sip", "sip:", "<tel:", '"A" <sip:'])
_USERS = (["kazoo17", "u", "1", "A1b2"], ["", "a.b", "a-b", "é", "a%41", "a:pw"])
_HOSTS = (
    ["kazoo.test", "vyqkh0x58aee.invalid", "h", "a1.b2", "h1.2a"],
    ["1.2.3.4", "1h", "h.", ".h", "h..i", "h-1.example", "[::1]", "hé", ""],
)
_PORTS = ([""], [":5060", ":65536", ":"])
_URI_PARAMS = (["", ";transport=ws", ";lr"], [";LR", ";x=", ";=y", ";r2=on-x", ";lr;lr"])
_PARAM_NAMES = (
    ["tag", "expires", "+sip.instance", "reg-id", "received", "q", "lr", "x-1", "ob", "rport"],
    ["Tag", "EXPIRES", "", "a b", "é"],
)
_PARAM_VALUES = (
    [
        "",
        "=600",
        "=5a52a36c56f4bfa3b8b3ca95a089b64f.7db40000",
        '="sip:127.0.0.1:33606;transport=ws"',
        '="<urn:uuid:414c343c-1027-44d1-8386-bbc4cd613e30>"',
        '=""',
        "=[::1]",
    ],
    ['="a\\"b"', '="é;x=y"', '="x"y', "=", "=a=b", '"x"', '="a\\b"'],
)
_NOISE = ["<", ">", '"', "\\", ",", " ", ";", "=", "@", ":", ".", "-", "é", "\x00", "A"]


def _slot(draw: st.DrawFn, choices: tuple[list[str], list[str]]) -> str:
    usual, edge = choices
    return draw(st.sampled_from(usual if draw(st.integers(0, 19)) else edge))


@st.composite
def echoed_addresses(draw: st.DrawFn) -> str:
    params = "".join(
        ";" + _slot(draw, _PARAM_NAMES) + _slot(draw, _PARAM_VALUES)
        for _ in range(draw(st.integers(0, 4)))
    )
    text = (
        _slot(draw, _SCHEMES)
        + _slot(draw, _USERS)
        + ("@" if draw(st.integers(0, 19)) else "")
        + _slot(draw, _HOSTS)
        + _slot(draw, _PORTS)
        + _slot(draw, _URI_PARAMS)
        + (">" if draw(st.integers(0, 19)) else "")
        + params
    )
    if draw(st.integers(0, 4)):
        return text
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(_NOISE)) + text[at:]


@settings(max_examples=1000)
@given(st.one_of(echoed_addresses(), st.text(max_size=60)))
@example(KAMAILIO_CONTACT)
@example(KAMAILIO_CONTACT + ";EXPIRES=1")
@example(KAMAILIO_TO)
def test_the_string_read_agrees_with_the_pattern(text: str) -> None:
    """Where the string read answers, the pattern answers the same host and params:
    header_checks' verdict, taken from either, is the same for every text."""
    parts = simple_address_parts(text)
    general = _general(text)
    if parts is not None:
        assert parts == general
        syntax.parse_address(text)  # as every plain address does
    remembered = header_checks._plain_address(text)
    assert remembered == (parts if parts is not None else general)
    assert header_checks.address_is_plain(text) is (general is not None)
