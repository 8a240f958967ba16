"""``RegisterParams``: what ``kazoo.register({...})`` took, validated on creation."""

from __future__ import annotations

import functools
import inspect
import os
import random
import re
from collections.abc import Callable
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import attrs

from protocols.sip.address_of_record import aor_parts, identity_user
from protocols.sip.header_syntax import HOST
from protocols.sip.identifiers import uuid4_urn

Callback = Callable[..., Any]
Backoff = Literal["fixed", "exponential"]

MIN_RECONNECT_DELAY_MS = 2000


_WS_SCHEMES = ("ws", "wss")
_RTMP_SCHEMES = ("rtmp",)


def _check_url(name: str, value: object, schemes: tuple[str, ...]) -> None:
    if not (isinstance(value, str) and _is_url(value, schemes)):
        raise ValueError(
            f"{name} must be a {' or '.join(s + '://' for s in schemes)} URL "
            f"with a host, got {value!r}"
        )


@functools.lru_cache(maxsize=256)
def _is_url(value: str, schemes: tuple[str, ...]) -> bool:
    """Remembered: thousands of accounts of one program share a few server URLs."""
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.hostname)


def _non_empty(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _check_realm(name: str, value: object) -> None:
    realm = _non_empty(name, value)
    if not _is_host(realm):
        raise ValueError(
            f"{name} must be a host name or IP address (the account registers "
            f"sip:user@{name}), got {value!r}"
        )


# An engine's accounts share one realm or a few: each is checked once.
@functools.lru_cache(maxsize=64)
def _is_host(text: str) -> bool:
    return _HOST.fullmatch(text) is not None


_HOST = re.compile(HOST)


def _check_aor(name: str, aor: str) -> None:
    # The user must be one a SIP URI can hold ('#' or a space, say, would need escaping):
    # refused here, naming the setting, rather than by engine.register.
    try:
        aor_parts(aor)
    except ValueError as exc:
        raise ValueError(f"{name} must give a valid SIP address of record: {exc}") from None


def _check_identity(name: str, value: object) -> None:
    # The usual identity is a bare alphanumeric user: it is its own user part (nothing
    # to strip or split), non-empty and free of the characters below, so it passes as
    # the general check would pass it, at a quarter of the cost per account.
    if isinstance(value, str) and value.isalnum():
        return
    _check_identity_fully(name, value)


def _check_identity_fully(name: str, value: object) -> None:
    user = identity_user(_non_empty(name, value))
    if not user or not _NOT_IN_USER.isdisjoint(user):
        raise ValueError(f"{name} must be a bare user or a sip:user@realm URI, got {value!r}")


_NOT_IN_USER = frozenset(' \t<>"@:')


def _wrong_type(name: str, kind: type, value: object) -> TypeError:
    return TypeError(
        f"{name} must be {kind.__name__}, got {value!r} of type {type(value).__name__}"
    )


def _not_positive(name: str, value: object) -> ValueError:
    return ValueError(f"{name} must be positive, got {value!r}")


# Instance ids need to be unique, not secret: a Mersenne Twister seeded from the OS
# (again in a forked child) is four times cheaper per account than uuid.uuid4().
_instance_ids = random.Random()
os.register_at_fork(after_in_child=_instance_ids.seed)


def _address_of_record(public_identity: str, realm: str) -> str:
    return f"sip:{identity_user(public_identity)}@{realm}"


def new_instance_id() -> str:
    """A fresh ``urn:uuid:`` of a version 4 UUID (RFC 5626 +sip.instance)."""
    return uuid4_urn(_instance_ids.getrandbits(128))


# mypyc (setup.py compiles this module) checks what a call returns against its static
# type, and attrs.field(factory=...) is typed as the factory's result although it
# returns attrs' field marker (python/mypy#15267): called through Any, it is not checked.
# attrs reads the marker from the class body all the same.
_INSTANCE_ID_FIELD: Any = cast(Any, attrs.field)(factory=new_instance_id)


# Without slots: attrs then fills a frozen instance through its __dict__, one store per
# field, where a slotted one pays a call of object.__setattr__ per field (about a third
# of making the settings, for every account).
@attrs.frozen(kw_only=True, slots=False)
class RegisterParams:
    """One account's settings; the names follow kazoo.js's ``register`` in snake case."""

    realm: str
    private_identity: str
    public_identity: str
    password: str = attrs.field(repr=False)
    ws_url: str | None = None
    rtmp_url: str | None = None
    force_rtmp: bool = False

    reconnect_max_attempts: int = -1
    reconnect_delay: int = 5000
    reconnect_backoff: Backoff = "fixed"
    reconnect_backoff_cap: float = 60.0

    expires: int = 600
    keepalive_interval: float = 25.0
    verify_tls: bool = True
    user_agent: str = "kazoo-actors"
    instance_id: str = _INSTANCE_ID_FIELD
    monitor_connectivity: bool = True
    subscribe_voicemail: bool = False
    """Also SUBSCRIBE to the account's own message-summary (Kazoo sends it unsolicited)."""

    on_connected: Callback | None = None
    on_incoming: Callback | None = None
    on_accepted: Callback | None = None
    on_hangup: Callback | None = None
    on_cancel: Callback | None = None
    on_transfer: Callback | None = None
    on_notified: Callback | None = None
    on_error: Callback | None = None

    def __attrs_post_init__(self) -> None:
        # Every setting is checked here, in field order (the first bad one is the one
        # reported), rather than by twelve attrs validators: a program registering
        # thousands of accounts paid a validator call per setting per account. They are
        # read from the instance's __dict__, where attrs just put them: a generic getattr
        # per setting cost as much again; and untyped: compiled by mypyc (setup.py), a
        # typed read of a wrong type would raise mypyc's own TypeError before the check
        # that names the setting.
        settings: dict[str, Any] = self.__dict__
        _check_realm("realm", settings["realm"])
        _check_identity("private_identity", settings["private_identity"])
        if settings["public_identity"] != settings["private_identity"]:  # else checked just above
            _check_identity("public_identity", settings["public_identity"])
        _check_aor(
            "public_identity", _address_of_record(settings["public_identity"], settings["realm"])
        )
        if not isinstance(settings["password"], str):
            raise _wrong_type("password", str, settings["password"])
        if settings["ws_url"] is not None:
            _check_url("ws_url", settings["ws_url"], _WS_SCHEMES)
        if settings["rtmp_url"] is not None:
            _check_url("rtmp_url", settings["rtmp_url"], _RTMP_SCHEMES)
        if not isinstance(settings["reconnect_max_attempts"], int):
            raise _wrong_type("reconnect_max_attempts", int, settings["reconnect_max_attempts"])
        if settings["reconnect_delay"] < MIN_RECONNECT_DELAY_MS:
            raise ValueError(
                f"reconnect_delay is in milliseconds, at least {MIN_RECONNECT_DELAY_MS}; "
                f"got {settings['reconnect_delay']!r}"
            )
        if settings["reconnect_backoff"] not in ("fixed", "exponential"):
            backoff = settings["reconnect_backoff"]
            raise ValueError(f"reconnect_backoff must be 'fixed' or 'exponential', got {backoff!r}")
        if settings["reconnect_backoff_cap"] <= 0:
            raise _not_positive("reconnect_backoff_cap", settings["reconnect_backoff_cap"])
        if settings["expires"] <= 0:
            raise _not_positive("expires", settings["expires"])
        if settings["keepalive_interval"] <= 0:
            raise _not_positive("keepalive_interval", settings["keepalive_interval"])
        callbacks = (
            settings["on_connected"],
            settings["on_incoming"],
            settings["on_accepted"],
            settings["on_hangup"],
            settings["on_cancel"],
            settings["on_transfer"],
            settings["on_notified"],
            settings["on_error"],
        )
        for value in callbacks:
            if value is not None and not callable(value):
                raise _not_callable(callbacks)
        if settings["force_rtmp"] and settings["rtmp_url"] is None:
            raise ValueError("force_rtmp needs rtmp_url")
        if settings["ws_url"] is None and settings["rtmp_url"] is None:
            raise ValueError("give ws_url (WebRTC) or rtmp_url (RTMP gateway)")

    @property
    def auth_user(self) -> str:
        """The digest username: the user part of the private identity."""
        return identity_user(self.private_identity)

    @property
    def user(self) -> str:
        return identity_user(self.public_identity)

    @property
    def aor(self) -> str:
        """The address of record, ``sip:user@realm``."""
        return _address_of_record(self.public_identity, self.realm)

    @property
    def auto_reconnect(self) -> bool:
        return self.reconnect_max_attempts != 0

    @property
    def reconnect_delay_s(self) -> float:
        settings: Any = self  # untyped, as in the checks: a float delay passes them
        return float(settings.reconnect_delay) / 1000.0


_CALLBACK_FIELDS = (
    "on_connected",
    "on_incoming",
    "on_accepted",
    "on_hangup",
    "on_cancel",
    "on_transfer",
    "on_notified",
    "on_error",
)


def _not_callable(callbacks: tuple[Callback | None, ...]) -> TypeError:
    """The error for the first callback that is not callable (named here, not in the
    loop that finds one: naming each callback it checks cost every account)."""
    field, value = next(
        (field, value)
        for field, value in zip(_CALLBACK_FIELDS, callbacks, strict=True)
        if value is not None and not callable(value)
    )
    return TypeError(f"{field} must be callable (sync or async), got {value!r}")


def is_async_callable(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )
