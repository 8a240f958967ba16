"""``RegisterParams``: what ``kazoo.register({...})`` took, validated on creation."""

from __future__ import annotations

import functools
import inspect
import os
import random
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from protocols.sip.address_of_record import identity_user
from protocols.sip.identifiers import uuid4_urn

Callback = Callable[..., Any]
Backoff = Literal["fixed", "exponential"]

MIN_RECONNECT_DELAY_MS = 2000


def _url(schemes: tuple[str, ...]) -> Callable[[Any, attrs.Attribute[Any], str | None], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if value is not None and not (isinstance(value, str) and _is_url(value, schemes)):
            raise ValueError(
                f"{attribute.name} must be a {' or '.join(s + '://' for s in schemes)} URL "
                f"with a host, got {value!r}"
            )

    return check


@functools.lru_cache(maxsize=256)
def _is_url(value: str, schemes: tuple[str, ...]) -> bool:
    """Remembered: thousands of accounts of one program share a few server URLs."""
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.hostname)


def _non_empty(_instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string")


def _identity(_instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    _non_empty(_instance, attribute, value)
    user = identity_user(value)
    if not user or not _NOT_IN_USER.isdisjoint(user):
        raise ValueError(
            f"{attribute.name} must be a bare user or a sip:user@realm URI, got {value!r}"
        )


_NOT_IN_USER = frozenset(' \t<>"@:')


def _callback(_instance: Any, name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable (sync or async), got {value!r}")


def _positive(_instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _reconnect_delay(_instance: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < MIN_RECONNECT_DELAY_MS:
        raise ValueError(
            f"{attribute.name} is in milliseconds, at least {MIN_RECONNECT_DELAY_MS}; got {value!r}"
        )


def _instance_of(kind: type) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    # attrs.validators.instance_of, as a plain function: cheaper to call per account.
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kind):
            raise TypeError(
                f"{attribute.name} must be {kind.__name__}, got {value!r} "
                f"of type {type(value).__name__}"
            )

    return check


def _backoff(_instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ("fixed", "exponential"):
        raise ValueError(f"{attribute.name} must be 'fixed' or 'exponential', got {value!r}")


# Instance ids need to be unique, not secret: a Mersenne Twister seeded from the OS
# (again in a forked child) is four times cheaper per account than uuid.uuid4().
_instance_ids = random.Random()
os.register_at_fork(after_in_child=_instance_ids.seed)


def new_instance_id() -> str:
    """A fresh ``urn:uuid:`` of a version 4 UUID (RFC 5626 +sip.instance)."""
    return uuid4_urn(_instance_ids.getrandbits(128))


@attrs.frozen(kw_only=True)
class RegisterParams:
    """One account's settings; the names follow kazoo.js's ``register`` in snake case."""

    realm: str = attrs.field(validator=_non_empty)
    private_identity: str = attrs.field(validator=_identity)
    public_identity: str = attrs.field(validator=_identity)
    password: str = attrs.field(repr=False, validator=_instance_of(str))
    ws_url: str | None = attrs.field(default=None, validator=_url(("ws", "wss")))
    rtmp_url: str | None = attrs.field(default=None, validator=_url(("rtmp",)))
    force_rtmp: bool = False

    reconnect_max_attempts: int = attrs.field(default=-1, validator=_instance_of(int))
    reconnect_delay: int = attrs.field(default=5000, validator=_reconnect_delay)
    reconnect_backoff: Backoff = attrs.field(default="fixed", validator=_backoff)
    reconnect_backoff_cap: float = attrs.field(default=60.0, validator=_positive)

    expires: int = attrs.field(default=600, validator=_positive)
    keepalive_interval: float = attrs.field(default=25.0, validator=_positive)
    verify_tls: bool = True
    user_agent: str = "kazoo-actors"
    instance_id: str = attrs.field(factory=new_instance_id)
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
        # The callbacks' check, here rather than as eight attrs validators: an
        # account usually passes none, and one count says so.
        callbacks = (
            self.on_connected,
            self.on_incoming,
            self.on_accepted,
            self.on_hangup,
            self.on_cancel,
            self.on_transfer,
            self.on_notified,
            self.on_error,
        )
        if callbacks.count(None) != len(callbacks):
            for field, value in zip(_CALLBACK_FIELDS, callbacks, strict=True):
                _callback(self, field, value)
        if self.force_rtmp and self.rtmp_url is None:
            raise ValueError("force_rtmp needs rtmp_url")
        if self.ws_url is None and self.rtmp_url is None:
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
        return f"sip:{self.user}@{self.realm}"

    @property
    def auto_reconnect(self) -> bool:
        return self.reconnect_max_attempts != 0

    @property
    def reconnect_delay_s(self) -> float:
        return self.reconnect_delay / 1000.0


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


def is_async_callable(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )
