"""The upgrade check's fast path for Kamailio's 101 agrees with the line-by-line check."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kazoo_actors.websocket import (
    _GUID,
    HandshakeRefused,
    _is_kamailio_acceptance,
    check_upgrade_lines,
    check_upgrade_response,
    handshake_key,
    parse_url,
    upgrade_request,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 s.1.3's example for KEY


def kamailio_lines(accept: bytes, sia: bytes = b"SIP/2.0/TCP 127.0.0.1:42994") -> list[bytes]:
    """Kamailio 5.6's answer to our upgrade, as captured from the lab server, line by line."""
    return [
        b"HTTP/1.1 101 Switching Protocols",
        b"Sia: " + sia,
        b"Sec-WebSocket-Protocol: sip",
        b"Upgrade: websocket",
        b"Connection: upgrade",
        b"Sec-WebSocket-Accept: " + accept,
        b"Content-Length: 0",
    ]


def outcome(check: object, *args: object) -> str | None:
    """None when the check accepts, else what it refused with."""
    assert callable(check)
    try:
        check(*args)
    except HandshakeRefused as exc:
        return f"refused: {exc}"
    return None


def test_kamailio_answer_takes_the_fast_path() -> None:
    head = b"\r\n".join(kamailio_lines(ACCEPT))
    assert _is_kamailio_acceptance(head, ACCEPT, "sip")
    check_upgrade_response(head, KEY, "sip")
    check_upgrade_lines(head, ACCEPT.decode(), "sip")


def test_fresh_keys_are_accepted_on_the_fast_path() -> None:
    for _ in range(20):
        key = handshake_key()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        head = b"\r\n".join(kamailio_lines(accept))
        assert _is_kamailio_acceptance(head, accept, "sip")
        check_upgrade_response(head, key, "sip")


@pytest.mark.parametrize(
    ("head", "match"),
    [
        (b"\r\n".join(kamailio_lines(b"AAAA" + ACCEPT[4:])), "Accept"),
        (b"\r\n".join(kamailio_lines(ACCEPT)).replace(b": sip", b": xmpp"), "subprotocol"),
        (b"\r\n".join(kamailio_lines(ACCEPT)).replace(b" 101 ", b" 404 "), "refused"),
        (b"\r\n".join(kamailio_lines(ACCEPT, sia=b"x")).replace(b"Sia: ", b"Sia "), "malformed"),
        (b"\r\n".join([*kamailio_lines(ACCEPT), b"Upgrade: h2c"]), "Upgrade"),
        (b"\r\n".join([*kamailio_lines(ACCEPT), b"sec-websocket-accept: x"]), "Accept"),
    ],
)
def test_kamailio_shaped_refusals_still_refused(head: bytes, match: str) -> None:
    assert not _is_kamailio_acceptance(head, ACCEPT, "sip")
    with pytest.raises(HandshakeRefused, match=match):
        check_upgrade_response(head, KEY, "sip")


# Bytes that matter to a line parser, plus ordinary ones.
_PIECES = st.sampled_from(
    [b"\r", b"\n", b"\r\n", b":", b" ", b"\t", b"\x85", b"\xa0", b"a", b"A", b"0", b"upgrade"]
)
_FRAGMENT = st.lists(_PIECES, max_size=6).map(b"".join)


@st.composite
def kamailio_like(draw: st.DrawFn) -> tuple[bytes, str]:
    """Kamailio's answer with a few edits that may or may not still make it an acceptance."""
    accept = draw(st.sampled_from([ACCEPT, ACCEPT.lower(), b"AAAA" + ACCEPT[4:], ACCEPT + b" "]))
    lines = kamailio_lines(accept, sia=draw(_FRAGMENT))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "copy", "insert", "case", "space", "extend"]))
        if edit == "drop":
            del lines[at]
        elif edit == "copy":
            lines.insert(draw(st.integers(0, len(lines))), lines[at])
        elif edit == "insert":
            extra = draw(
                st.sampled_from(
                    [b"", b"X-Other: 1", b"no colon", b"Upgrade: h2c", b" Upgrade: websocket"]
                )
            )
            lines.insert(at, extra)
        elif edit == "case":
            lines[at] = lines[at].swapcase()
        elif edit == "space":
            lines[at] = lines[at].replace(b": ", b" : ")
        else:
            lines[at] += draw(_FRAGMENT)
        if not lines:
            break
    subprotocol = draw(st.sampled_from(["sip", "SIP", " sip", "xmpp"]))
    return b"\r\n".join(lines), subprotocol


@given(kamailio_like())
def test_fast_path_and_line_check_agree(case: tuple[bytes, str]) -> None:
    head, subprotocol = case
    full = outcome(check_upgrade_response, head, KEY, subprotocol)
    assert full == outcome(check_upgrade_lines, head, ACCEPT.decode(), subprotocol)
    if _is_kamailio_acceptance(head, ACCEPT, subprotocol):
        assert full is None  # the fast path never accepts what the line check refuses


@pytest.mark.parametrize("subprotocol", ["sip", "xmpp"])
def test_upgrade_request_bytes(subprotocol: str) -> None:
    """The request kept on the URL for ``sip`` is byte for byte the one built for any other."""
    url = parse_url("ws://127.0.0.1:18080/ws?x=1")
    assert upgrade_request(url, KEY, subprotocol) == (
        b"GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: " + subprotocol.encode() + b"\r\n\r\n"
    )


def test_handshake_keys_are_16_random_bytes_in_base64() -> None:
    keys = {handshake_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(base64.b64decode(key, validate=True)) == 16 for key in keys)
