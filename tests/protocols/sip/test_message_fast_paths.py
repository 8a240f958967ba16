"""parse_message's shortcuts for the common shapes agree with the general checks."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sip_message_strategies import vias
from sipmessage import Parameters, Via

from protocols.sip import header_syntax as syntax
from protocols.sip import message
from protocols.sip.errors import ParseError
from protocols.sip.header_fields import FIELDS, load_values
from protocols.sip.parsed_headers import ParsedHeaders

# Header sections dense in the characters the checks are about.
_HEAD_CHARS = st.sampled_from(
    ["\r", "\n", "\r\n", "\t", "\x00", "\x1f", "\x7f", '"', "\\", "a", " ", "é"]
)
heads = st.lists(_HEAD_CHARS, max_size=30).map("".join)


@given(heads)
@example("SIP/2.0 200 OK\r\nVia: x")
@example("a\r\r\nb")
@example("a\r\n\nb")
@example('a\r\nX: "\\\x00"')
def test_separators_only_is_exactly_no_bare_cr_lf_and_no_control(head: str) -> None:
    lines = head.split("\r\n")
    general = (
        head.count("\r") == len(lines) - 1
        and head.count("\n") == len(lines) - 1
        and message._CONTROL_RE.search(head) is None
    )
    assert message.separators_only(head.encode(), len(lines) - 1) is general


def _reference_fields(
    lines: list[str],
) -> tuple[list[tuple[str, list[str]]], dict[str, list[str]], dict[str, object]]:
    """The two-pass loading parse_message did before: group every line by
    field, then check each field from all of its values."""
    grouped: dict[str, tuple[str, list[str]]] = {}
    previous: list[str] | None = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            if previous is None:
                raise ParseError("continuation line before any header field")
            previous[-1] = (previous[-1] + " " + line.strip(" \t")).strip(" \t")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ParseError("header line")
        canonical, key, _ = message._field_name(name)
        entry = grouped.get(key)
        if entry is None:
            previous = [value.strip(" \t")]
            grouped[key] = (canonical, previous)
        else:
            previous = entry[1]
            previous.append(value.strip(" \t"))
    fields: list[tuple[str, list[str]]] = []
    index: dict[str, list[str]] = {}
    typed: dict[str, object] = {}
    for key, (name, values) in grouped.items():
        spec = FIELDS.get(key)
        stored, found = (values, None) if spec is None else load_values(spec, values)
        fields.append((name, stored))
        index[key] = stored
        if found is not None:
            typed[key] = found
    return fields, index, typed


_LINES = [
    "Via: SIP/2.0/WS h.invalid;branch=z9hG4bK1;rport=5;received=1.2.3.4",
    "v: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bK2",
    "Via: SIP/2.0/TCP a.b;branch=z9hG4bK3, SIP/2.0/UDP c.d",
    "Via: SIP/2.0/UDP",
    " a.b;branch=z9hG4bK4",
    "To: <sip:a@b>;tag=1",
    "t :<sip:a@b>",
    "From: <sip:a@b>;tag=2",
    'From: "A, b" <sip:a@b>;tag=3',
    "Call-ID: abc@def",
    "i: xyz",
    "CSeq: 2 REGISTER",
    "CSeq: 2",
    "\tREGISTER",
    "Contact: <sip:a@h.invalid;transport=ws>;expires=600;reg-id=1",
    "m: <sip:b@c>, <sip:d@e>;q=0.5",
    "Contact: *",
    "Record-Route: <sip:p1;lr>",
    "Record-Route: <sip:p2;lr>",
    "Content-Length: 0",
    "l: 12",
    "Content-Length: x",
    'WWW-Authenticate: Digest realm="a", nonce="b", qop="auth"',
    "WWW-Authenticate: Digest",
    "Subject: hi",
    "Subject:",
    "X-Other: 1, 2",
    "Max-Forwards: 70",
    "Expires: 600",
    "bad line",
    "Bad Name: x",
    " folded",
    "",
]


@given(st.lists(st.sampled_from(_LINES), max_size=12))
@example(["Via: SIP/2.0/UDP", " a.b;branch=z9hG4bK4"])
@example(["Via: SIP/2.0/UDP a.b", "Via: SIP/2.0/UDP c.d", "To: <sip:a@b>", "t: <sip:c@d>"])
@example(["Contact: *", "Contact: <sip:a@b>"])
@example(["CSeq: 2", "\tREGISTER", "CSeq: 3 INVITE"])
def test_one_pass_loading_equals_grouping_then_checking(lines: list[str]) -> None:
    lines = ["SIP/2.0 200 OK", *lines]
    try:
        expected: object = _reference_fields(lines)
    except ParseError:
        expected = ParseError
    headers = ParsedHeaders()
    try:
        index, typed = message._load_fields(headers, lines)
        # What the parse's last checks read is what the headers hold.
        assert index is headers.index
        assert typed is headers._typed
        found: object = (headers._list, headers._index, headers._typed)
    except ParseError:
        found = ParseError
    assert found == expected


@given(st.lists(st.sampled_from(_LINES), max_size=12))
@example(
    ["Via: SIP/2.0/WS h.invalid;branch=z9hG4bK1;rport=5;received=1.2.3.4", "To: <sip:a@b>;tag=1"]
)
@example(["m: <sip:b@c>, <sip:d@e>;q=0.5"])
@example(["Content-Length: x", " 0"])
def test_the_one_line_per_field_loop_equals_the_general_loading(lines: list[str]) -> None:
    lines = ["SIP/2.0 200 OK", *lines]

    def load(loader: Callable[[ParsedHeaders, list[str]], object]) -> object:
        headers = ParsedHeaders()
        try:
            loader(headers, list(lines))
        except ParseError as exc:
            return ("ParseError", str(exc))
        return headers._list, headers._index, headers._typed

    assert load(message._load_fields) == load(message._load_any_fields)


_VIA_NOISE = [
    " ",
    "\t",
    ";",
    "=",
    ":",
    ",",
    '"',
    "[",
    "]",
    "-",
    ".",
    "9",
    "Q",
    "é",
    ";BRANCH=x",
    ":99999",
]


@st.composite
def mutated_vias(draw: st.DrawFn) -> str:
    """Vias of every spelling, about half of them with a character or a piece
    inserted or deleted somewhere (unfolded, as parse_message hands them)."""
    text = draw(vias()).replace("\r\n", "")
    if draw(st.booleans()):
        text = re.sub(r"[ \t]*([/;=:])[ \t]*", r"\1", text)  # the common, tight spelling
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(_VIA_NOISE)) + text[at:]
        else:
            text = text[:at] + text[at + 1 :]
    return text


def _via_outcome(parse: Callable[[str], object], text: str) -> object:
    try:
        return parse(text)
    except ParseError:
        return ParseError


@given(mutated_vias())
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;rport=33606;received=127.0.0.1")
@example("SIP/2.0/WS h.invalid:65536;branch=z9hG4bK1")
@example("SIP/2.0/WS h.invalid:65536;branch=z9hG4bK1;rport=5;received=1.2.3.4")
@example("SIP/2.0/WS h.invalid:5060;branch=z9hG4bK1;rport;received=1.2.3.4")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;received=1.2.3.4")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;rport=1;rport=2")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;received=a;received=b")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;received=1.2.3.4;rport=5")
@example("SIP/2.0/WS h.invalid;branch=;rport=5")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;rport=5;received=")
@example("SIP/2.0/WS a-.b;branch=z9hG4bK1;rport=5;received=1.2.3.4")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;Branch=2")
@example("SIP/2.0/WS h.invalid;branch=z9hG4bK1;branch=2")
@example("SIP/2.0/WS a.1;branch=z9hG4bK1")
@example("SIP/2.0/WS [::1]:5060;branch=z9hG4bK1;received=::1")
@example("SIP/2.0/WS a-.b;branch=z9hG4bK1")
def test_the_plain_via_read_equals_the_general_one(text: str) -> None:
    fast = _via_outcome(syntax.parse_via, text)
    general = _via_outcome(syntax.general_via, text)
    assert fast == general
    if isinstance(fast, Via) and isinstance(general, Via):
        # Built without the constructors: the same types, text and parameter mapping.
        assert type(fast) is Via
        assert type(fast.parameters) is Parameters
        assert str(fast) == str(general)
        assert dict(fast.parameters) == dict(general.parameters)
        assert dataclasses.replace(fast, host="x") == dataclasses.replace(general, host="x")
        assert fast.parameters.replace(x="1") == general.parameters.replace(x="1")


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("kazoo.test", True),
        ("sip-gw.example-1.com.", True),
        ("127.0.0.1", True),
        ("[::1]", True),
        ("a..b", False),
        ("1.2.3.4a.com", True),
        ("a.1b", False),
        ("a..b", False),
        ("1.2.3.4a.com", True),
        ("a.1b", False),
        ("a.b-", False),
        ("a..b", False),
        ("1.2.3.4a.com", True),
        ("a.1b", False),
    ],
)
def test_the_host_rule_keeps_hyphens_inside_labels(host: str, valid: bool) -> None:
    # CPython 3.11.2 (Debian 12's) wrongly let possessive label runs accept "a-.b":
    # the fast paths use HOST itself, and these must hold on every patch release.
    assert (re.fullmatch(syntax.HOST, host) is not None) is valid
    via = f"SIP/2.0/WS {host};branch=z9hG4bK1"
    assert (_via_outcome(syntax.parse_via, via) is not ParseError) is valid


# RFC 3261 section 25.1's hostname as written there, the reference for HOST's faster form.
_RFC_HOSTNAME = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.?"
)


@given(st.text(alphabet="a1Z-.:;[]é ", max_size=14))
@example("a-.b")
@example("a.-b")
@example("-a.b")
@example("a.b-")
@example("a.1b")
@example("1a.b.")
def test_the_host_rule_is_the_rfc_hostname(text: str) -> None:
    """Same texts accepted, and the same prefix taken where a host only starts a
    value (Via's general rule reads on from where the host ends)."""
    rfc = re.compile(_RFC_HOSTNAME)
    ours = re.compile(syntax.HOSTNAME)
    assert (ours.fullmatch(text) is None) is (rfc.fullmatch(text) is None)
    found, expected = ours.match(text), rfc.match(text)
    assert (found and found.end()) == (expected and expected.end())
