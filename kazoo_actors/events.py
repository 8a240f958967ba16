"""What an account tells its program: the seed's errors and notifications, and typed events.

Keys and messages are exactly those of kazoo.js (the seed). Each is delivered
both to the matching ``on_*`` callback and through ``Account.events()``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from kazoo_actors.call_events import CallEvent

ERROR_MESSAGES: dict[str, str] = {
    "server_not_reachable": "Could not reach the server.",
    "unauthorized": "Invalid credentials.",
    "forbidden": "Forbidden.",
    "disconnected": "You have been disconnected.",
}

NOTIFICATION_MESSAGES: dict[str, str] = {
    "overriding_registration": "You have overridden an existing registration for this device.",
    "replaced_registration": "You have been disconnected: someone else has registered this device.",
    "voicemail_notification": "You have one or more voicemail message(s).",
    "reconnecting_notification": "Attempting to reconnect...",
    "transfer_notification": "Transfer successful.",
    "unknown_notification": "You have received a SIP notification.",
}

CONNECTIVITY_MESSAGES: dict[str, str] = {
    "online": "You have recovered your connection to the network.",
    "offline": "You have lost your connection to the network.",
}

ConnectivityStatus = Literal["online", "offline"]


@attrs.frozen(kw_only=True)
class Error:
    """A failure the program should know about (``on_error``)."""

    key: str
    message: str
    source: Any = attrs.field(default=None, eq=False)
    code: int | None = None
    account: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return _public_fields(self)


@attrs.frozen(kw_only=True)
class Notification:
    """Something happened that is not a failure (``on_notified``).

    Extras are set only for the keys that carry them: ``status`` for
    connectivity, ``attempt`` for reconnecting, the message counts and
    ``message_account`` for voicemail, ``contact`` for registration overwrites.
    """

    key: str
    message: str
    source: Any = attrs.field(default=None, eq=False)
    account: str | None = None
    status: ConnectivityStatus | None = None
    attempt: int | None = None
    contact: str | None = None
    messages_waiting: bool | None = None
    message_account: str | None = None
    new_messages: int | None = None
    old_messages: int | None = None
    urgent_new_messages: int | None = None
    urgent_old_messages: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return _public_fields(self)


@attrs.frozen(kw_only=True)
class Connected:
    """The account is registered (``on_connected``); sent again after each reconnect."""

    account: str
    expires: int
    key: str = "connected"
    message: str = "Registered."

    def as_dict(self) -> dict[str, Any]:
        return _public_fields(self)


@attrs.frozen(kw_only=True)
class LoggedOut:
    """The account unregistered because the program asked it to."""

    account: str
    key: str = "logged_out"
    message: str = "Logged out."

    def as_dict(self) -> dict[str, Any]:
        return _public_fields(self)


AccountEvent = Error | Notification | Connected | LoggedOut | CallEvent
"""Everything ``Account.events()`` yields: registration, notifications and its calls."""


def error(
    key: str, *, source: Any = None, code: int | None = None, account: str | None = None
) -> Error:
    return Error(key=key, message=ERROR_MESSAGES[key], source=source, code=code, account=account)


def notification(
    key: str, *, source: Any = None, account: str | None = None, **extras: Any
) -> Notification:
    return Notification(
        key=key, message=NOTIFICATION_MESSAGES[key], source=source, account=account, **extras
    )


def connectivity(status: ConnectivityStatus, *, account: str | None = None) -> Notification:
    return Notification(
        key="connectivity_notification",
        message=CONNECTIVITY_MESSAGES[status],
        status=status,
        account=account,
    )


def _public_fields(event: Any) -> dict[str, Any]:
    """The JSON-friendly view: ``source`` left out, unset extras dropped."""
    return {
        name: value
        for name, value in attrs.asdict(event, recurse=False).items()
        if name != "source" and value is not None
    }
