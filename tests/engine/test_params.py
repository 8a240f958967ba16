from __future__ import annotations

import uuid
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kazoo_actors.params import (
    _CALLBACK_FIELDS,
    RegisterParams,
    _check_identity,
    _check_identity_fully,
)
from protocols.sip.address_of_record import aor_parts, identity_user


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


@pytest.mark.parametrize("realm", ["pbx1", "kazoo.test", "127.0.0.1", "[::1]", "example.com."])
def test_any_rfc_3261_host_is_a_realm(realm: str) -> None:
    assert params(realm=realm).aor == f"sip:alice@{realm}"


def test_password_never_in_repr() -> None:
    assert "s3cret" not in repr(params())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ws_url": "http://x"}, "ws_url"),
        ({"ws_url": None}, "ws_url"),
        ({"realm": " "}, "realm"),
        ({"realm": "pbx_1"}, "^realm must be a host name or IP address"),
        ({"realm": "-pbx"}, "^realm must be a host name or IP address"),
        ({"public_identity": "al#ice"}, "^public_identity must give a valid SIP address of record"),
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


def test_each_account_gets_its_own_instance_id() -> None:
    ids = {params().instance_id for _ in range(100)}
    assert len(ids) == 100
    for made in ids:
        number = uuid.UUID(made.removeprefix("urn:uuid:"))
        assert (number.version, number.variant) == (4, uuid.RFC_4122)
        assert made == f"urn:uuid:{number}"


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"password": 1234}, TypeError, "password must be str"),
        ({"reconnect_max_attempts": "3"}, TypeError, "reconnect_max_attempts must be int"),
        ({"ws_url": 5066}, ValueError, "ws_url must be a ws:// or wss:// URL"),
        ({"ws_url": "ws://"}, ValueError, "ws_url must be a ws:// or wss:// URL"),
        ({"rtmp_url": "ws://host"}, ValueError, "rtmp_url must be a rtmp:// URL"),
        ({"public_identity": "sip:al:ice@x"}, ValueError, "public_identity must be a bare user"),
        ({"reconnect_backoff": "random"}, ValueError, "'fixed' or 'exponential'"),
    ],
)
def test_invalid_values_raise_typed_errors_naming_the_setting(
    overrides: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        params(**overrides)


def test_a_url_checked_once_is_still_checked_per_setting() -> None:
    # The URL check is remembered per value and scheme: a ws URL stays no rtmp URL.
    params(ws_url="ws://127.0.0.1:5066")
    with pytest.raises(ValueError, match="rtmp_url"):
        params(rtmp_url="ws://127.0.0.1:5066")


@given(
    st.dictionaries(
        st.sampled_from(_CALLBACK_FIELDS),
        st.sampled_from([None, print, "not callable", 3]),
    )
)
def test_every_callback_is_checked_whichever_others_are_given(given_: dict[str, object]) -> None:
    bad = [name for name in _CALLBACK_FIELDS if given_.get(name) not in (None, print)]
    if bad:
        with pytest.raises(TypeError, match=f"^{bad[0]} must be callable"):
            params(**given_)
    else:
        made = params(**given_)
        assert all(getattr(made, name) is given_.get(name) for name in _CALLBACK_FIELDS)


# One bad value per setting, with the error it raises on its own.
_BAD_SETTINGS: dict[str, tuple[object, type[Exception], str]] = {
    "realm": (" ", ValueError, "^realm must be a non-empty string"),
    "private_identity": ("a b", ValueError, "^private_identity must be a bare user"),
    "public_identity": ("", ValueError, "^public_identity must be a non-empty string"),
    "password": (1234, TypeError, "^password must be str, got 1234 of type int"),
    "ws_url": ("http://x", ValueError, "^ws_url must be a ws:// or wss:// URL with a host"),
    "rtmp_url": ("ws://host", ValueError, "^rtmp_url must be a rtmp:// URL with a host"),
    "reconnect_max_attempts": ("3", TypeError, "^reconnect_max_attempts must be int"),
    "reconnect_delay": (1999, ValueError, "^reconnect_delay is in milliseconds, at least 2000"),
    "reconnect_backoff": ("random", ValueError, "^reconnect_backoff must be 'fixed' or"),
    "reconnect_backoff_cap": (0, ValueError, "^reconnect_backoff_cap must be positive, got 0"),
    "expires": (0, ValueError, "^expires must be positive, got 0"),
    "keepalive_interval": (-1.0, ValueError, "^keepalive_interval must be positive"),
    "on_connected": ("x", TypeError, "^on_connected must be callable"),
    "on_error": (3, TypeError, "^on_error must be callable"),
}


@given(st.sets(st.sampled_from(sorted(_BAD_SETTINGS)), min_size=1))
def test_the_first_bad_setting_in_field_order_is_the_one_reported(bad: set[str]) -> None:
    # The checks run in one method; as per-field validators did, the first bad
    # field (in declaration order) decides the error.
    order = [field.name for field in attrs.fields(RegisterParams)]
    first = min(bad, key=order.index)
    _, error, message = _BAD_SETTINGS[first]
    with pytest.raises(error, match=message):
        params(**{name: _BAD_SETTINGS[name][0] for name in bad})


def test_evolve_checks_the_new_values() -> None:
    with pytest.raises(ValueError, match=r"^expires must be positive"):
        attrs.evolve(params(), expires=-5)


def _outcome(check: Callable[[str, object], None], value: object) -> str | None:
    try:
        check("private_identity", value)
    except (ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_IDENTITY_TEXT = st.text(alphabet=st.sampled_from('aZ9é²_ \t\n<>"@:;.-'), max_size=12)


@given(st.one_of(st.text(max_size=12), _IDENTITY_TEXT, st.integers(), st.none()))
def test_the_identity_fast_path_judges_as_the_full_check(value: object) -> None:
    # Bare alphanumeric users skip the full reading; everything must come out the same.
    assert _outcome(_check_identity, value) == _outcome(_check_identity_fully, value)


@given(_IDENTITY_TEXT)
def test_an_identity_shared_by_both_fields_is_judged_once_with_the_same_result(
    value: str,
) -> None:
    # public_identity equal to private_identity is not checked again as an identity;
    # the address of record it forms (sip:user@realm) still is.
    try:
        made: RegisterParams | None = params(private_identity=value, public_identity=value)
    except ValueError as exc:
        assert str(exc).startswith(
            ("private_identity ", "public_identity must give a valid SIP address of record")
        )
        made = None
    valid = _outcome(_check_identity_fully, value) is None and _forms_an_aor(value)
    assert (made is not None) == valid


def _forms_an_aor(identity: str) -> bool:
    try:
        aor_parts(f"sip:{identity_user(identity)}@example.test")
    except ValueError:
        return False
    return True


def _callback_named(name: str) -> Callable[..., None]:
    def callback(*_: object) -> None:
        return None

    callback.__name__ = name
    return callback


# A valid value, unlike the default, for every setting.
_EVERY_SETTING: dict[str, object] = {
    "realm": "kazoo.test",
    "private_identity": "bob",
    "public_identity": "sip:bob@kazoo.test",
    "password": "pw",
    "ws_url": "wss://pbx.kazoo.test:5065",
    "rtmp_url": "rtmp://media.kazoo.test",
    "force_rtmp": True,
    "reconnect_max_attempts": 3,
    "reconnect_delay": 3000,
    "reconnect_backoff": "exponential",
    "reconnect_backoff_cap": 30.0,
    "expires": 300,
    "keepalive_interval": 10.0,
    "verify_tls": False,
    "user_agent": "test-agent",
    "instance_id": "urn:uuid:00000000-0000-4000-8000-000000000000",
    "monitor_connectivity": False,
    "subscribe_voicemail": True,
    **{name: _callback_named(name) for name in _CALLBACK_FIELDS},
}


def test_every_setting_is_kept_as_given() -> None:
    # The checks read the settings from the instance's __dict__: each must be there.
    assert [f.name for f in attrs.fields(RegisterParams)] == list(_EVERY_SETTING)
    made = RegisterParams(**_EVERY_SETTING)  # type: ignore[arg-type]
    assert {name: getattr(made, name) for name in _EVERY_SETTING} == _EVERY_SETTING


def test_made_settings_are_frozen_values() -> None:
    made = RegisterParams(**_EVERY_SETTING)  # type: ignore[arg-type]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.expires = 60  # type: ignore[misc]
    assert attrs.evolve(made) == made
    assert attrs.evolve(made, expires=60) == RegisterParams(**{**_EVERY_SETTING, "expires": 60})  # type: ignore[arg-type]
    assert hash(attrs.evolve(made)) == hash(made)
    with pytest.raises(TypeError):
        RegisterParams(**{**_EVERY_SETTING, "unknown_setting": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        RegisterParams(ws_url="ws://h", realm="r", private_identity="a", password="p")  # type: ignore[call-arg]
