from __future__ import annotations

import pytest

from kazoo_actors import events


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("server_not_reachable", "Could not reach the server."),
        ("unauthorized", "Invalid credentials."),
        ("forbidden", "Forbidden."),
        ("disconnected", "You have been disconnected."),
    ],
)
def test_error_keys_and_messages_are_the_seeds(key: str, message: str) -> None:
    err = events.error(key, code=401)
    assert (err.key, err.message, err.code) == (key, message, 401)


def test_notifications_carry_their_extras() -> None:
    n = events.notification("reconnecting_notification", attempt=3)
    assert n.as_dict() == {
        "key": "reconnecting_notification",
        "message": "Attempting to reconnect...",
        "attempt": 3,
    }
    off = events.connectivity("offline")
    assert off.message == "You have lost your connection to the network."
    assert off.status == "offline"


def test_unknown_key_is_a_bug_not_a_silent_event() -> None:
    with pytest.raises(KeyError):
        events.error("no_such_key")
