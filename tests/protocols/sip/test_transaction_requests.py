"""CANCEL built from an INVITE (RFC 3261 s.9.1)."""

from __future__ import annotations

from transaction_messages import make_request

from protocols.sip.transaction import build_cancel, client_key


def test_cancel_copies_invite_identity() -> None:
    invite = make_request(cseq=7, routes=("<sip:a.example.com;lr>", "<sip:b.example.com;lr>"))
    invite.headers.add("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy")
    invite.headers.add("Authorization", 'Digest username="alice"')
    cancel = build_cancel(invite)
    assert cancel.method == "CANCEL"
    assert cancel.uri == invite.uri
    for name in ("Call-ID", "From", "To"):
        assert cancel.headers[name] == invite.headers[name]
    assert str(cancel.cseq) == "7 CANCEL"
    assert cancel.headers.getlist("Via") == invite.headers.getlist("Via")[:1]
    assert cancel.headers.getlist("Route") == invite.headers.getlist("Route")
    assert cancel.headers.get("Authorization") is None
    assert cancel.headers["Content-Length"] == "0"
    assert client_key(cancel) == (client_key(invite)[0], "CANCEL")


def test_cancel_splits_comma_joined_via() -> None:
    invite = make_request()
    top = invite.headers["Via"]
    invite.headers.set("Via", f"{top}, SIP/2.0/UDP other.example.com;branch=z9hG4bKx")
    cancel = build_cancel(invite)
    (via,) = cancel.via
    assert via.parameters["branch"] == "z9hG4bKclient1"
