"""Configured URIs follow RFC 3261's grammar (a top label may end in a digit) and
fail with a ValueError naming the setting."""

from __future__ import annotations

import pytest
from sipmessage import URI

from protocols.sip.configured_uri import parse_configured_uri
from protocols.sip.errors import ParseError


@pytest.mark.parametrize(
    ("text", "user", "host", "port"),
    [
        ("sip:alice@pbx1", "alice", "pbx1", None),  # refused by sipmessage's URI.parse
        ("sip:alice@pbx1.lan2:5080", "alice", "pbx1.lan2", 5080),
        ("sips:bob@kazoo.test", "bob", "kazoo.test", None),
        ("sip:kazoo.test", None, "kazoo.test", None),
        ("sip:carol@127.0.0.1;transport=ws", "carol", "127.0.0.1", None),
    ],
)
def test_sip_uris_read_by_the_rfc_grammar(
    text: str, user: str | None, host: str, port: int | None
) -> None:
    uri = parse_configured_uri(text, "address of record")
    assert (uri.user, uri.host, uri.port) == (user, host, port)
    assert str(uri) == text


def test_what_sipmessage_accepts_reads_the_same() -> None:
    for text in ("sip:alice@kazoo.test", "sip:a%20b@example.com;lr", "sips:x@[::1]:5061"):
        assert parse_configured_uri(text, "target") == URI.parse(text)


@pytest.mark.parametrize(
    "text",
    ["alice@pbx1", "sip:", "sip:alice@", "sip:alice@-pbx", "sip:alice@pbx1?x=y", "sip:a@b:70000"],
)
def test_a_malformed_uri_is_a_configuration_error_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match=r"^registrar .* is not a valid URI") as caught:
        parse_configured_uri(text, "registrar")
    assert not isinstance(caught.value, ParseError)  # not the server's fault


def test_other_schemes_are_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="is not a sip or sips URI"):
        parse_configured_uri("tel:+15551234", "call target")
    with pytest.raises(ValueError, match="is not a sip or sips URI"):
        parse_configured_uri("http://example.com/", "call target")
    tel = parse_configured_uri("tel:+15551234", "transfer target", ("sip", "sips", "tel"))
    assert tel.scheme == "tel"
