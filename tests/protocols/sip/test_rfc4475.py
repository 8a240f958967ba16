"""The RFC 4475 torture messages, one fixture file each (CRLF line ends).

Valid messages (section 3.1.1) parse; invalid ones (3.1.2) raise ParseError.
The transaction- and application-layer messages (3.2, 3.3, 3.4) are included
too, with the decision a UA's parser takes for each written next to it.

mpart01.dat: the RFC shows its binary body part only in a base64 appendix;
the fixture keeps the message, the multipart framing and the 553-byte length,
with binary bytes (including NULs) of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.sip import ParseError
from protocols.sip.message import SipRequest, SipResponse, messages_equal, parse_message

FIXTURES = Path(__file__).parent / "rfc4475"

VALID = {
    "wsinv": "3.1.1.1 short tortuous INVITE: folding, escapes in quotes, LWS everywhere",
    "intmeth": "3.1.1.2 wide range of valid characters, NUL/BEL/DEL as quoted-pairs",
    "esc01": "3.1.1.3 valid %-escaping in URIs",
    "escnull": "3.1.1.4 escaped NULs in URI user parts",
    "esc02": "3.1.1.5 % where it is not an escape (method, display name, branch)",
    "lwsdisp": "3.1.1.6 no LWS between display name and <",
    "longreq": "3.1.1.7 long values, 34 Via values in mixed forms",
    "dblreq": "3.1.1.8 extra octets after Content-Length are discarded",
    "semiuri": "3.1.1.9 semicolon in the Request-URI user part",
    "transports": "3.1.1.10 all known and an unknown Via transport",
    "mpart01": "3.1.1.11 multipart body with binary part",
    "unreason": "3.1.1.12 UTF-8 reason phrase",
    "noreason": "3.1.1.13 empty reason phrase",
    # 3.2-3.4: syntactically valid; what a UA does with them is above the parser.
    "badbranch": "3.2.1 branch is only the magic cookie: still a valid token",
    "unkscm": "3.3.2 unknown Request-URI scheme: kept opaque, the UA answers 416",
    "novelsc": "3.3.3 novel scheme soap.beep: kept opaque",
    "unksm2": "3.3.4 other schemes in To/From/Contact: RFC 3261 absoluteURI",
    "bext01": "3.3.5 unsupported Require extensions: the UA answers 420",
    "invut": "3.3.6 unknown Content-Type: the UA answers 415",
    "regaut01": "3.3.7 unknown authorization scheme: auth-param form parses",
    "bcast": "3.3.10 broadcast Via host: a transport-layer concern",
    "zeromf": "3.3.11 Max-Forwards 0: only proxies care",
    "cparam01": "3.3.12 addr-spec Contact: ;unknownparam is a header param",
    "cparam02": "3.3.13 name-addr Contact: ;unknownparam is a URI param",
    "regescrt": "3.3.14 escaped headers in a name-addr Contact URI",
    "sdp01": "3.3.15 Accept without application/sdp: the UA answers 415",
    "inv2543": "3.4.1 RFC 2543 style: no tags, no branch, no Max-Forwards",
}

INVALID = {
    "badinv01": "3.1.2.1 empty Via and Contact parameters",
    "clerr": "3.1.2.2 Content-Length larger than the body",
    "scalar02": "3.1.2.3 CSeq beyond 2**32-1 (also Max-Forwards, Expires)",
    "scalarlg": "3.1.2.4 response with CSeq beyond 2**32-1",
    "quotbal": "3.1.2.5 unterminated quote in To",
    "ltgtruri": "3.1.2.6 Request-URI in <>",
    "lwsruri": "3.1.2.7 LWS inside the Request-URI",
    "lwsstart": "3.1.2.8 several SPs in the request line",
    "trws": "3.1.2.9 SPs after SIP-Version",
    "escruri": "3.1.2.10 headers in the Request-URI",
    "baddate": "3.1.2.11 non-GMT Date: rejected, the grammar only has GMT",
    "regbadct": "3.1.2.12 addr-spec Contact with URI headers",
    "badaspec": "3.1.2.13 spaces inside <...>",
    "baddn": "3.1.2.14 unquoted display names with commas",
    "badvers": "3.1.2.15 SIP/7.0: a server answers 505; this parser speaks 2.0 only",
    "mismatch01": "3.1.2.16 CSeq method differs from the request method",
    "mismatch02": "3.1.2.17 unknown method with a different CSeq method: 400, not 501",
    "bigcode": "3.1.2.18 status code beyond 699",
    "ncl": "3.1.2.2 note: negative Content-Length",
    "insuf": "3.3.1 missing To, From, Call-ID: cannot even be answered",
    "multi01": "3.3.8 repeated single-value headers (CSeq, Call-ID, To, From)",
    "mcl01": "3.3.9 two Content-Length values: the body cannot be framed",
}


def test_every_fixture_has_an_expectation() -> None:
    files = {path.stem for path in FIXTURES.glob("*.dat")}
    assert files == set(VALID) | set(INVALID)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_message_parses_and_round_trips(name: str) -> None:
    message = parse_message((FIXTURES / f"{name}.dat").read_bytes())
    again = parse_message(bytes(message))
    assert messages_equal(message, again)
    assert bytes(again) == bytes(message)
    # Every typed accessor answers without raising.
    for accessor in (
        "via", "from_address", "to_address", "cseq", "call_id", "contact", "route",
        "record_route", "max_forwards", "content_length", "content_type", "expires",
        "www_authenticate_all", "authorization", "refer_to", "event", "subscription_state",
    ):  # fmt: skip
        getattr(message, accessor)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_message_raises_parse_error(name: str) -> None:
    with pytest.raises(ParseError):
        parse_message((FIXTURES / f"{name}.dat").read_bytes())


def test_wsinv_values() -> None:
    message = parse_message((FIXTURES / "wsinv.dat").read_bytes())
    assert isinstance(message, SipRequest)
    assert message.method == "INVITE"
    assert message.uri.parameters == {"unknownparam": None}
    assert message.to_address.parameters["tag"] == "1918181833n"
    assert message.from_address.name == 'J Rosenberg \\"'
    assert message.from_address.parameters["tag"] == "98asjd8"
    assert message.max_forwards == 68
    assert (message.cseq.sequence, message.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.parameters["branch"]) for v in message.via] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert message.headers.get("Subject") == ""
    assert message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert message.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    [contact] = message.contact
    assert contact.name == 'Quoted string ""'
    assert contact.parameters == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert message.route[0].uri.parameters["unknownwith"] == "value"
    assert len(message.body) == 150


def test_intmeth_values() -> None:
    message = parse_message((FIXTURES / "intmeth.dat").read_bytes())
    assert isinstance(message, SipRequest)
    assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert message.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert message.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert message.to_address.name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.from_address.name == "token1~` token2'+_ token3*%!.-"
    assert message.from_address.parameters["tag"] == "_token~1'+`*%!-."
    assert message.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert message.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escapes_and_nulls() -> None:
    esc01 = parse_message((FIXTURES / "esc01.dat").read_bytes())
    assert isinstance(esc01, SipRequest)
    assert esc01.uri.user == "sips:user@example.com"
    assert esc01.to_address.uri.user == "user"
    assert esc01.from_address.uri.user == "I have spaces"
    # Unescaping is not recursive: value%41 stays distinct from valueA.
    assert esc01.contact[0].uri.parameters["name"] == "value%41"
    escnull = parse_message((FIXTURES / "escnull.dat").read_bytes())
    assert [c.uri.user for c in escnull.contact] == ["\x00", "\x00\x00"]
    esc02 = parse_message((FIXTURES / "esc02.dat").read_bytes())
    assert [c.uri.user for c in esc02.contact] == ["alias1", "alias3"]
    assert esc02.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_dblreq_discards_octets_after_the_body() -> None:
    message = parse_message((FIXTURES / "dblreq.dat").read_bytes())
    assert message.body == b""
    assert b"INVITE" not in bytes(message)


def test_response_reason_phrases() -> None:
    unreason = parse_message((FIXTURES / "unreason.dat").read_bytes())
    assert isinstance(unreason, SipResponse)
    assert unreason.phrase == "= 2**3 * 5**2 но сто девяносто девять - простое"
    noreason = parse_message((FIXTURES / "noreason.dat").read_bytes())
    assert isinstance(noreason, SipResponse)
    assert (noreason.code, noreason.phrase) == (100, "")


def test_mpart01_binary_body_is_kept_whole() -> None:
    message = parse_message((FIXTURES / "mpart01.dat").read_bytes())
    assert len(message.body) == 553
    assert b"\x00" in message.body
    assert message.content_type is not None
    assert message.content_type.parameters["boundary"] == "7a9cbec02ceef655"
