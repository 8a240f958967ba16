from __future__ import annotations

import pytest

from kazoo_actors.params import RegisterParams


def params(**overrides: object) -> RegisterParams:
    base: dict[str, object] = dict(
        ws_url="ws://127.0.0.1:5066",
        realm="example.test",
        private_identity="alice",
        public_identity="sip:alice@example.test",
        password="s3cret",
    )
    base.update(overrides)
    return RegisterParams(**base)  # type: ignore[arg-type]


def test_seed_defaults() -> None:
    p = params()
    assert p.reconnect_max_attempts == -1
    assert p.reconnect_delay == 5000
    assert p.auto_reconnect
    assert p.reconnect_delay_s == 5.0


@pytest.mark.parametrize("identity", ["alice", "sip:alice@example.test", "sips:alice@other"])
def test_identities_accept_bare_users_and_uris(identity: str) -> None:
    p = params(private_identity=identity, public_identity=identity)
    assert p.auth_user == "alice"
    assert p.aor == "sip:alice@example.test"


def test_password_never_in_repr() -> None:
    assert "s3cret" not in repr(params())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ws_url": "http://x"}, "ws_url"),
        ({"ws_url": None}, "ws_url"),
        ({"realm": " "}, "realm"),
        ({"private_identity": "a b"}, "private_identity"),
        ({"reconnect_delay": 1999}, "reconnect_delay"),
        ({"force_rtmp": True}, "rtmp_url"),
        ({"on_error": "not callable"}, "on_error"),
        ({"reconnect_backoff": "random"}, "reconnect_backoff"),
        ({"expires": 0}, "expires"),
    ],
)
def test_invalid_settings_raise_clear_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        params(**overrides)


def test_zero_attempts_disables_auto_reconnect() -> None:
    assert not params(reconnect_max_attempts=0).auto_reconnect
