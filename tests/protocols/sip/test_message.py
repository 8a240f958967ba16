"""parse_message: what RFC 3261 allows is accepted, the rest raises ParseError."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sipmessage import URI, AuthChallenge, AuthParameters, Request, Response, Via

from protocols.sip import ParseError
from protocols.sip.header_values import AbsoluteURI, URIWithHeaders
from protocols.sip.message import (
    _STATUS_LINES,
    SipRequest,
    SipResponse,
    _status_line,
    messages_equal,
    parse_message,
)
from protocols.sip.parsed_headers import ParsedHeaders


def message(*header_lines: str, start: str = "OPTIONS sip:bob@example.com SIP/2.0",
            body: bytes = b"") -> bytes:  # fmt: skip
    return (start + "\r\n" + "".join(f"{line}\r\n" for line in header_lines) + "\r\n").encode(
        "utf-8"
    ) + body


BASE = (
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc",
    "From: <sip:alice@example.com>;tag=1a",
    "To: <sip:bob@example.com>",
    "Call-ID: c1@192.0.2.1",
    "CSeq: 7 OPTIONS",
)


def with_base(*extra: str, **kwargs: object) -> bytes:
    return message(*BASE, *extra, **kwargs)  # type: ignore[arg-type]


def replaced(name: str, value: str) -> bytes:
    lines = [f"{name}: {value}" if line.split(":")[0] == name else line for line in BASE]
    return message(*lines)


def test_minimal_request() -> None:
    request = parse_message(with_base())
    assert isinstance(request, SipRequest)
    assert isinstance(request, Request)
    assert request.method == "OPTIONS"
    assert request.uri == URI(scheme="sip", host="example.com", user="bob")
    assert request.via == [
        Via(transport="UDP", host="192.0.2.1", port=5060, parameters=request.via[0].parameters)
    ]
    assert request.via[0].parameters["branch"] == "z9hG4bKabc"
    assert request.from_address.parameters["tag"] == "1a"
    assert request.to_address.uri.user == "bob"
    assert request.call_id == "c1@192.0.2.1"
    assert (request.cseq.sequence, request.cseq.method) == (7, "OPTIONS")
    assert request.max_forwards is None
    assert request.contact == []


def test_response_start_line_and_empty_reason() -> None:
    response = parse_message(with_base(start="SIP/2.0 180 Ringing"))
    assert isinstance(response, SipResponse)
    assert (response.code, response.phrase) == (180, "Ringing")
    empty = parse_message(with_base(start="SIP/2.0 100 "))
    assert isinstance(empty, SipResponse)
    assert empty.phrase == ""


@pytest.mark.parametrize(
    "start",
    [
        "OPTIONS sip:bob@example.com SIP/3.0",
        "OPTIONS  sip:bob@example.com SIP/2.0",
        "OPTIONS sip:bob@example.com",
        "OPT:IONS sip:bob@example.com SIP/2.0",
        "SIP/2.0 99 Too Low",
        "SIP/2.0 700 Too High",
        "SIP/2.0 2000 OK",
        "SIP/2.0 20x OK",
        "SIP/2.0 \uff12\uff10\uff10 OK",  # fullwidth digits are not DIGIT
        "HTTP/1.1 200 OK",
    ],
)
def test_bad_start_lines(start: str) -> None:
    with pytest.raises(ParseError):
        parse_message(with_base(start=start))


def test_folding_compact_forms_and_case() -> None:
    data = message(
        "v: SIP/2.0/TCP a.example.com;branch=z9hG4bK1,",
        "  SIP/2.0/UDP [2001:db8::1]:5070 ; branch = z9hG4bK2 ; received=2001:db8::9",
        "f: Alice",
        "\t<sip:alice@example.com> ;tag=x",
        "T: sip:bob@example.com",
        "i: abc",
        "CSEQ:\t7   OPTIONS",
        'm: <sip:a@h1>, "Quoted, comma" <sip:b@h2>;q=0.5',
        "l: 0",
    )
    request = parse_message(data)
    assert [(v.transport, v.host, v.port) for v in request.via] == [
        ("TCP", "a.example.com", None),
        ("UDP", "[2001:db8::1]", 5070),
    ]
    assert request.via[1].parameters["received"] == "2001:db8::9"
    assert request.from_address.name == "Alice"
    assert request.call_id == "abc"
    assert [c.name for c in request.contact] == ["", "Quoted, comma"]
    assert request.contact[1].parameters["q"] == "0.5"
    # Stored normalized: canonical names, one list element per value.
    assert request.headers.getlist("Via")[1].startswith("SIP/2.0/UDP [2001:db8::1]")
    assert request.headers.keys()[:3] == ["Via", "From", "To"]
    assert b"\r\n  " not in bytes(request)
    assert messages_equal(parse_message(bytes(request)), request)


def test_quoted_commas_in_auth_parameters() -> None:
    data = with_base(
        'WWW-Authenticate: Digest realm="a, b", qop="auth,auth-int", nonce="n1", algorithm=SHA-256',
        'WWW-Authenticate: Digest realm="c", nonce="n2", stale=TRUE',
        start="SIP/2.0 401 Unauthorized",
    )
    response = parse_message(data)
    assert response.www_authenticate == AuthChallenge(
        scheme="Digest",
        parameters=AuthParameters(
            realm="a, b", qop="auth,auth-int", nonce="n1", algorithm="SHA-256"
        ),
    )
    assert [c.parameters["nonce"] for c in response.www_authenticate_all] == ["n1", "n2"]


def test_several_challenges_in_one_header() -> None:
    data = with_base(
        'Proxy-Authenticate: Digest realm="x", nonce="1", Digest realm="x", nonce="2",'
        " algorithm=SHA-256",
        start="SIP/2.0 407 Proxy Authentication Required",
    )
    challenges = parse_message(data).proxy_authenticate_all
    assert [c.parameters.get("algorithm") for c in challenges] == [None, "SHA-256"]


def test_escaped_quotes_and_backslashes_in_display_names() -> None:
    request = parse_message(replaced("From", r'"A \"B\" \\ C" <sip:a@example.com>;tag=9'))
    assert request.from_address.name == 'A "B" \\ C'


def test_uri_headers_and_other_schemes() -> None:
    request = parse_message(
        with_base(
            "Refer-To: <sip:carol@example.com?Replaces=abc%40h%3Bto-tag%3D1&Require=replaces>"
        )
    )
    assert request.refer_to is not None
    target = request.refer_to.uri
    assert isinstance(target, URIWithHeaders)
    assert target.user == "carol"
    assert target.headers == "Replaces=abc%40h%3Bto-tag%3D1&Require=replaces"
    assert str(target) == "sip:carol@example.com?Replaces=abc%40h%3Bto-tag%3D1&Require=replaces"
    other = parse_message(replaced("To", "<urn:service:sos>"))
    assert other.to_address.uri == AbsoluteURI(scheme="urn", host="", opaque="service:sos")


def test_tel_uri_and_escaped_user() -> None:
    request = parse_message(
        with_base(start="INVITE tel:+1-201-555-0123;phone-context=example.com SIP/2.0").replace(
            b"7 OPTIONS", b"7 INVITE"
        )
    )
    assert isinstance(request, SipRequest)
    assert request.uri.scheme == "tel"
    escaped = parse_message(replaced("To", "<sip:b%6Fb@example.com>"))
    assert escaped.to_address.uri.user == "bob"


def test_event_subscription_state_and_numbers() -> None:
    request = parse_message(
        with_base(
            "Event: message-summary;id=7",
            "Subscription-State: terminated;reason=timeout;retry-after=30",
            "Expires: 3600",
            "Min-Expires: 60",
            "Retry-After: 120 (maintenance (soon));duration=60",
            "Max-Forwards: 70",
            "Content-Type: text/plain;charset=utf-8",
            "Content-Length: 2",
            body=b"hi",
        )
    )
    assert request.event is not None
    assert (request.event.package, request.event.id) == ("message-summary", "7")
    state = request.subscription_state
    assert state is not None
    assert (state.state, state.reason, state.parameters["retry-after"]) == (
        "terminated",
        "timeout",
        "30",
    )
    assert (request.expires, request.min_expires, request.max_forwards) == (3600, 60, 70)
    assert request.retry_after is not None
    assert request.retry_after.seconds == 120
    assert request.retry_after.comment == "maintenance (soon)"
    assert request.content_type is not None
    assert request.content_type.mime_type == "text/plain"
    assert request.body == b"hi"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Via", "SIP/2.0/UDP"),
        ("Via", "SIP/3.0/UDP host;branch=z9hG4bK1"),
        ("Via", "SIP/2.0/UDP host:70000"),
        ("Via", "SIP/2.0/UDP host;;branch=x"),
        ("From", '"unterminated <sip:a@example.com>'),
        ("From", "<sip:a@example.com"),
        ("From", "<sip:a@example.com>;tag=1;tag=2"),
        ("To", "< sip:b@example.com >"),
        ("To", "sip:b@example.com?subject=x"),
        ("Call-ID", "has space"),
        ("Call-ID", ""),
        ("CSeq", "7"),
        ("CSeq", "-7 OPTIONS"),
        ("CSeq", "4294967296 OPTIONS"),
        ("CSeq", "7 INVITE"),
    ],
)
def test_malformed_required_headers(name: str, value: str) -> None:
    with pytest.raises(ParseError):
        parse_message(replaced(name, value))


@pytest.mark.parametrize(
    "line",
    [
        "Max-Forwards: 256",
        "Max-Forwards: seventy",
        "Expires: 4294967296",
        "Content-Length: 5",
        "Content-Length: -1",
        "Content-Length: 1, 2",
        "Contact: *",
        "Contact: <sip:a@b>,",
        "Route: <sip:a@b>,,<sip:c@d>",
        "WWW-Authenticate: Digest realm",
        'WWW-Authenticate: Digest realm="a" nonce="b"',
        'WWW-Authenticate: Digest realm="a", realm="b"',
        "Authorization: Digest",
        "Event: ;id=1",
        "Subscription-State: active;expires=soon",
        "Content-Type: text",
        "Retry-After: (no number)",
        "Date: Fri, 01 Jan 2010 16:00:00 EST",
        "Date: Wed, 31 Feb 2010 16:00:00 GMT",
        "Bad Name: value",
        ": no name",
        "no colon",
        " continuation",
    ],
)
def test_malformed_optional_headers(line: str) -> None:
    with pytest.raises(ParseError):
        parse_message(with_base(line) if line != " continuation" else message(line, *BASE))


@pytest.mark.parametrize("missing", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_required_headers(missing: str) -> None:
    with pytest.raises(ParseError):
        parse_message(message(*(line for line in BASE if not line.startswith(missing + ":"))))


def test_accept_lists_and_the_empty_accept() -> None:
    request = parse_message(with_base("Accept: application/sdp ,\r\n text/plain;q=0.5", "Accept:"))
    assert request.accept is not None
    assert [m.mime_type for m in request.accept] == ["application/sdp", "text/plain"]
    assert parse_message(with_base("Accept:")).accept == []
    assert parse_message(with_base()).accept is None
    with pytest.raises(ParseError):
        parse_message(with_base("Accept: text"))


def test_contact_wildcard_only_in_register() -> None:
    register = (
        with_base("Contact: *", "Expires: 0", start="REGISTER sip:example.com SIP/2.0")
        .replace(b"7 OPTIONS", b"7 REGISTER")
    )  # fmt: skip
    request = parse_message(register)
    assert request.contact_is_wildcard
    assert request.contact == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: x",
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: \xff\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nX: a\nb\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nX: a\x00b\r\n\r\n",
        b"OPTIONS sip:a@b\x01 SIP/2.0\r\n\r\n",
    ],
)
def test_framing_and_encoding_errors(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_message(data)


def test_control_character_allowed_as_quoted_pair() -> None:
    request = parse_message(replaced("From", '"nul\\\x00" <sip:a@example.com>;tag=1'))
    assert request.from_address.name == "nul\x00"


def test_body_longer_than_content_length_is_cut_and_missing_length_keeps_all() -> None:
    cut = parse_message(with_base("Content-Length: 3", body=b"abcdef"))
    assert cut.body == b"abc"
    assert bytes(cut).endswith(b"\r\n\r\nabc")
    whole = parse_message(with_base(body=b"abcdef"))
    assert whole.body == b"abcdef"


def test_leading_crlf_is_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + with_base()).method == "OPTIONS"  # type: ignore[union-attr]


def test_typed_cache_follows_header_changes() -> None:
    request = parse_message(with_base("Expires: 60"))
    assert request.expires == 60
    request.headers.set("Expires", "120")
    assert request.expires == 120
    request.expires = None
    assert request.expires is None
    request.headers.add("Via", "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp")
    assert [v.host for v in request.via] == ["192.0.2.1", "proxy.example.com"]
    request.via = request.via[1:]
    assert [v.host for v in request.via] == ["proxy.example.com"]
    request.headers.remove("Via")
    assert request.via == []
    request.headers.getlist("CSeq").append("junk")
    assert request.cseq.sequence == 7


def test_locally_built_message_uses_the_same_parsers() -> None:
    request = SipRequest("MESSAGE", URI.parse("sip:bob@example.com"))
    request.headers.add("Via", "SIP/2.0/WSS h.invalid ;branch=z9hG4bK1 , SIP/2.0/UDP [::1]")
    request.headers.add("From", '"Smith, J" <sip:j@example.com>;tag=2')
    assert len(request.via) == 2
    assert request.from_address.name == "Smith, J"
    with pytest.raises(ParseError):
        _ = request.cseq


def test_messages_equal() -> None:
    a = parse_message(with_base("X-A: 1"))
    b = parse_message(with_base("x-a: 1"))
    assert messages_equal(a, b)
    assert not messages_equal(a, parse_message(with_base("X-A: 1", "X-B: 1")))
    assert not messages_equal(a, parse_message(with_base("X-A: 2")))
    assert not messages_equal(a, parse_message(with_base("X-A: 1", body=b"x")))
    assert not messages_equal(a, parse_message(with_base(start="SIP/2.0 200 OK")))


def test_checked_messages_hold_what_sipmessage_would_set() -> None:
    """SipRequest and SipResponse set sipmessage's attributes themselves."""
    uri = URI.parse("sip:bob@example.com")
    for ours, theirs in (
        (SipResponse(180, "Ringing", b"x"), Response(180, "Ringing", b"x")),
        (SipRequest("INVITE", uri, b"x"), Request("INVITE", uri, b"x")),
    ):
        assert isinstance(ours.headers, ParsedHeaders)
        # Compiled (setup.py), ``headers`` is a slot of CheckedMessage, not in vars().
        assert vars(ours).keys() - {"headers"} == vars(theirs).keys() - {"headers"}
        for name, value in vars(theirs).items():
            if name != "headers":
                assert getattr(ours, name) == value


@given(
    st.one_of(
        st.sampled_from(
            ["SIP/2.0 200 OK", "SIP/2.0 401 Unauthorized", "sip/2.0 100 ", "SIP/2.0 99"]
        ),
        st.text(max_size=20).map(lambda rest: "SIP/2.0 " + rest),
    )
)
def test_a_remembered_status_line_equals_a_fresh_one(line: str) -> None:
    def outcome(read: Callable[[str], tuple[int, str]]) -> object:
        try:
            return read(line)
        except ParseError as exc:
            return str(exc)

    fresh = outcome(_status_line)  # remembers the line if it is valid
    assert outcome(_status_line) == fresh
    remembered = _STATUS_LINES.get(line)  # what parse_message looks up first
    assert remembered is None or remembered == fresh
    if not line.isprintable():
        return  # a control character fails the message before its start line
    data = (
        line + "\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        "To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
    ).encode()
    try:
        response = parse_message(data)
    except ParseError as exc:
        assert isinstance(fresh, str), exc
        return
    assert isinstance(response, SipResponse)
    assert (response.code, response.phrase) == fresh
