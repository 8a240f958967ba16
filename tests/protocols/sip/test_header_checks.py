"""The cheap header checks: True only where the full parse is certain to succeed."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from protocols.sip import digest_header, header_checks, parameter_names
from protocols.sip import header_syntax as syntax
from protocols.sip.errors import ParseError
from protocols.sip.header_checks import address_is_plain, challenge_is_plain, plain_address_parts
from protocols.sip.message import parse_message

KAMAILIO_CONTACT = (
    "<sip:user1@vyqkh0x58aee.invalid;transport=ws>;expires=600;"
    'received="sip:127.0.0.1:33606;transport=ws";'
    '+sip.instance="<urn:uuid:414c343c-1027-44d1-8386-bbc4cd613e30>";reg-id=1'
)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (KAMAILIO_CONTACT, True),
        ("<sip:user1@kazoo.test>;tag=5a52a36c56f4bfa3b8b3ca95a089b64f.7db40000", True),
        ('"Al, ice" <sips:a@[::1]:65535;lr>;tag=1', True),
        ('<sip:a@b>;tag="x;tag=y"', True),
        ("<sip:127.0.0.1:5066;transport=ws;r2=on;lr>", True),
        # Not this shape: the full parser decides (and may well accept).
        (KAMAILIO_CONTACT + ";Expires=1", False),  # a repeated parameter
        ("<sip:a@b;lr;LR>", False),
        ("<sip:a@b:65536>", False),
        ("sip:a@b", False),
        ("Alice <sip:a@b>", False),
        ('<sip:a@b>;tag="x";tag=y', False),
        ("<sip:a%40x@b>", False),
        ("<sip:a@b?subject=x>", False),
        ("<sip:a:secret@b>", False),
        ("<sip:a@b>; tag=1", False),
        ("*", False),
    ],
)
def test_address_shapes(text: str, plain: bool) -> None:
    assert address_is_plain(text) is plain
    if plain:
        syntax.parse_address(text)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ('Digest realm="kazoo.test", nonce="awfOsGsHzYQyGx6kKyESvUsn3/lLNSt1", qop="auth"', True),
        ('Digest realm="a,realm=", nonce="b", algorithm=MD5', True),
        ('Digest realm = "a" ,nonce="b"', True),
        ('Digest realm="a", Realm="b"', False),
        ('Digest realm="a", nonce="b", Digest realm="c", nonce="d"', False),
        ("Digest", False),
        ('Digest realm="a\\"b"', False),
        ('Digest realm="a",', False),
    ],
)
def test_challenge_shapes(text: str, plain: bool) -> None:
    assert challenge_is_plain(text) is plain
    if plain:
        syntax.parse_challenges(text)


# Values shaped like real ones, slot by slot, with edge cases in every slot
# and one random piece inserted anywhere, so that examples land on both
# sides of the edges of both grammars.
# (good choices, edge cases) per slot.
_NAMES = (["", '"Alice" ', '"A, b"'], ['"a\\"b" ', "Alice ", '"x"'])
_SCHEMES = (["<sip:", "<sips:"], ["<SIP:", "<tel:", "sip:", "<"])
_USERS = (["", "user1@", "a.b@"], ["a%41@", "a:pw@", "a@b@", "@", "a b@"])
_HOSTS = (["host.invalid", "h-1.example", "1.2.3.4", "[::1]"], ["-h", "1.2.3", "[::g]", ""])
_PORTS = (["", ":5060", ":65535"], [":65536", ":0", ":", ":99999"])
_URI_PARAMS = ([";lr", ";transport=ws", ";r2=on"], [";LR", ";x=", ";=y", ";a b", ";x=%41"])
_PARAMS = (
    [";tag=1", ';received="sip:x;y=1"', ";expires=600", ';+sip.instance="<urn:uuid:1>"'],
    [";Tag=2", ';q="a\\"b"', "; x=1", ';e="', ";", ";reg-id=1"],
)
_NOISE = ["<", ">", '"', "\\", ",", " ", ";", "=", "@", ":", "?", "%", "é", "\x00"]


def _slot(draw: st.DrawFn, choices: tuple[list[str], list[str]]) -> str:
    good, edge = choices
    return draw(st.sampled_from(good if draw(st.integers(0, 9)) < 8 else edge))


def _splice(draw: st.DrawFn, text: str) -> str:
    if draw(st.booleans()):
        return text
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(_NOISE)) + text[at:]


@st.composite
def addresses(draw: st.DrawFn) -> str:
    text = (
        _slot(draw, _NAMES)
        + _slot(draw, _SCHEMES)
        + _slot(draw, _USERS)
        + _slot(draw, _HOSTS)
        + _slot(draw, _PORTS)
        + "".join(_slot(draw, _URI_PARAMS) for _ in range(draw(st.integers(0, 3))))
        + (">" if draw(st.integers(0, 9)) else "")
        + "".join(_slot(draw, _PARAMS) for _ in range(draw(st.integers(0, 4))))
    )
    return _splice(draw, text)


_AUTH_PARAMS = (
    ['realm="a"', 'nonce="n,x"', "qop=auth", 'qop="auth,auth-int"', "algorithm=MD5"],
    ['Realm="b"', "x=", '="a"', 'a="b\\"c"', 'Digest realm="c"', "t"],
)


@st.composite
def challenges(draw: st.DrawFn) -> str:
    params = [_slot(draw, _AUTH_PARAMS) for _ in range(draw(st.integers(0, 5)))]
    separator = _slot(draw, ([", ", ",", " , "], [" ", ""]))
    text = _slot(draw, (["Digest"], ["digest", "Basic", ""])) + " " + separator.join(params)
    return _splice(draw, text)


@given(st.one_of(addresses(), st.text(max_size=40)))
def test_a_plain_address_always_parses(text: str) -> None:
    if address_is_plain(text):
        syntax.parse_address(text)


@given(st.one_of(challenges(), st.text(max_size=40)))
def test_a_plain_challenge_always_parses(text: str) -> None:
    if challenge_is_plain(text):
        syntax.parse_challenges(text)


@given(addresses(), challenges())
def test_lazy_values_equal_eager_ones(address: str, challenge: str) -> None:
    """parse_message accepts a message exactly when its fields parse, and a
    value built on first read equals the one the parser would have built."""
    data = (
        "SIP/2.0 401 Unauthorized\r\n"
        "Via: SIP/2.0/WS h.invalid;branch=z9hG4bK1\r\n"
        f"To: {address}\r\n"
        "From: <sip:a@b>;tag=1\r\n"
        "Call-ID: c\r\n"
        "CSeq: 1 REGISTER\r\n"
        f"Contact: {address}\r\n"
        f"WWW-Authenticate: {challenge}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    try:
        eager_to = syntax.parse_address(address.strip(" \t"))
        eager_contact = [syntax.parse_address(a) for a in syntax.split_commas(address)]
        eager_challenges = syntax.parse_challenges(challenge.strip(" \t"))
    except ParseError:
        with pytest.raises(ParseError):
            parse_message(data)
        return
    if address.strip(" \t") == "*" or "\r" in address or "\n" in address:
        return
    try:
        message = parse_message(data)
    except ParseError:
        return  # e.g. a control character the message level rejects first
    assert message.to_address == eager_to
    assert message.contact == eager_contact
    assert message.www_authenticate_all == eager_challenges


@given(challenges())
def test_the_digest_clients_fast_read_equals_its_general_one(text: str) -> None:
    try:
        general = digest_header.general_challenges(text.strip())
    except ParseError:
        with pytest.raises(ParseError):
            digest_header.parse_challenges(text)
        return
    assert digest_header.parse_challenges(text) == general


@given(addresses())
def test_the_fast_address_read_equals_the_general_one(text: str) -> None:
    try:
        general = syntax.general_address(text)
    except ParseError:
        with pytest.raises(ParseError):
            syntax.parse_address(text)
        return
    assert syntax.parse_address(text) == general


@given(addresses())
def test_the_plain_parts_of_an_address_equal_its_full_parse(text: str) -> None:
    parts = plain_address_parts(text)
    if parts is None:
        return
    address = syntax.parse_address(text)
    host, params = parts
    assert host == address.uri.host
    parsed = {name.lower(): value or "" for name, value in address.parameters.items()}
    unquoted = {name: value.strip('"') for name, value in params.items()}
    assert unquoted == {name: value.strip('"') for name, value in parsed.items()}


def test_a_quoted_parameter_cannot_pose_as_another() -> None:
    text = '<sip:a@h.invalid>;received="sip:1.2.3.4;expires=5";expires=600'
    parts = plain_address_parts(text)
    assert parts is not None
    assert parts[1]["expires"] == "600"
    assert parts[1]["received"] == '"sip:1.2.3.4;expires=5"'


@given(st.one_of(addresses(), st.text(max_size=40)))
def test_a_remembered_address_verdict_equals_a_fresh_one(text: str) -> None:
    fresh = header_checks._plain_address.__wrapped__(text)
    for _ in range(2):  # the first call may fill the memo, the second reads it
        assert header_checks._plain_address(text) == fresh


@given(st.one_of(challenges(), st.text(max_size=40)))
def test_a_remembered_challenge_verdict_equals_a_fresh_one(text: str) -> None:
    fresh = challenge_is_plain.__wrapped__(text)
    assert challenge_is_plain(text) is fresh
    assert challenge_is_plain(text) is fresh


_PARAM_NAME_CHOICES = ["tag", "Tag", "expires", "EXPIRES", "+sip.instance", "reg-id", "lr", "x"]
_PARAM_VALUE_CHOICES = [
    "",
    "=1",
    "=ws",
    '="a;tag=b"',
    '="<urn:uuid:1>"',
    '="x=y;lr"',
    '=""',
    '="é"',
]


@st.composite
def header_params(draw: st.DrawFn) -> str:
    count = draw(st.integers(0, 6))
    return "".join(
        ";"
        + draw(st.sampled_from(_PARAM_NAME_CHOICES))
        + draw(st.sampled_from(_PARAM_VALUE_CHOICES))
        for _ in range(count)
    )


def _names_by_regex(params: str) -> list[str]:
    """The parameter names as a regex pass collects them: the reference."""
    return [name.lower() for name in re.findall(r';([^;="]+)(?:=(?:"[^"]*"|[^;"]*))?', params)]


@given(header_params(), header_params())
def test_the_repeated_name_scan_equals_a_regex_pass(params: str, more: str) -> None:
    text = "<sip:a@h.invalid>" + params + more
    if header_checks._ADDRESS_RE.fullmatch(text) is None:
        return
    names = _names_by_regex(params + more)
    distinct = len(set(names)) == len(names)
    assert parameter_names.names_distinct(params + more) is distinct
    if params.count(";") + more.count(";") > 1:
        assert address_is_plain(text) is distinct
    uri_params = params.replace('"', "")
    uri_text = f"<sip:a@h.invalid{uri_params}>"
    if header_checks._ADDRESS_RE.fullmatch(uri_text) is not None:
        uri_names = _names_by_regex(uri_params)
        assert parameter_names.names_distinct(uri_params) is (len(set(uri_names)) == len(uri_names))


@given(header_params())
def test_a_remembered_name_verdict_equals_a_fresh_one(params: str) -> None:
    skeleton = "".join(params.split('"')[::2])
    fresh = parameter_names.skeleton_names_distinct.__wrapped__(skeleton)
    for _ in range(2):  # the first call may fill the memo, the second reads it
        assert parameter_names.names_distinct(params) is fresh
        assert parameter_names.skeleton_names_distinct(skeleton) is fresh


# The address pattern with its optional parts written (?:x)?: the reference for
# header_checks' (?:x|) spelling of them.
_REPEAT_OPTIONAL_ADDRESS_RE = re.compile(
    rf'(?:"[^"\\]*"[ \t]*)?<sips?:(?:{header_checks._USER}@)?(?P<host>{syntax.HOST})'
    rf"(?::{header_checks._PORT})?"
    rf"(?P<uri_params>(?:;{header_checks._URI_PARAM_CHAR}+(?:={header_checks._URI_PARAM_CHAR}+)?)*)>"
    rf"(?P<params>(?:;{syntax.TOKEN}(?:=(?:{header_checks._QUOTED}|{syntax.UNQUOTED_VALUE}))?)*)"
)


@given(st.one_of(addresses(), st.text(max_size=40)))
@example(KAMAILIO_CONTACT)
@example('"A" <sip:a@b:5060;lr;x=1>;tag=1;e="x;y"')
def test_the_address_pattern_matches_as_its_repeat_spelling(text: str) -> None:
    ours = header_checks._ADDRESS_RE.fullmatch(text)
    reference = _REPEAT_OPTIONAL_ADDRESS_RE.fullmatch(text)
    assert (ours is None) is (reference is None)
    if ours is not None and reference is not None:
        assert ours.groupdict() == reference.groupdict()
