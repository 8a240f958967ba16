"""The typed header values behave as the frozen dataclasses they are declared
as, compiled or not: equal by value, immutable, copyable and replaceable, and
the URI kinds are sipmessage URIs that render as the text they came from."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from sipmessage import URI, Parameters

from protocols.sip.header_values import (
    AbsoluteURI,
    Event,
    RetryAfter,
    SubscriptionState,
    URIWithHeaders,
)

VALUES: list[tuple[Any, str, str]] = [
    (URIWithHeaders(scheme="sip", host="x", user="b", headers="Replaces=c%40d"), "host", "y"),
    (AbsoluteURI(scheme="urn", host="", opaque="service:sos"), "opaque", "service:fire"),
    (Event("presence", Parameters(id="3")), "package", "dialog"),
    (SubscriptionState("active", Parameters(expires="30")), "state", "terminated"),
    (RetryAfter(120, "(busy)", Parameters(duration="60")), "comment", ""),
]


@pytest.mark.parametrize(("value", "field", "other"), VALUES)
def test_frozen_equal_by_value_copyable_and_replaceable(value: Any, field: str, other: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, other)
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value
    changed = dataclasses.replace(value, **{field: other})
    assert getattr(changed, field) == other
    assert changed != value
    assert dataclasses.replace(changed, **{field: getattr(value, field)}) == value


def test_uri_kinds_are_sipmessage_uris_rendered_as_received() -> None:
    with_headers = URIWithHeaders(scheme="sip", host="x", user="b", headers="Replaces=c%40d")
    absolute = AbsoluteURI(scheme="urn", host="", opaque="service:sos")
    assert isinstance(with_headers, URI) and isinstance(absolute, URI)
    assert str(with_headers) == "sip:b@x?Replaces=c%40d"
    assert str(absolute) == "urn:service:sos"
    assert [f.name for f in dataclasses.fields(with_headers)][-1] == "headers"


def test_parameter_properties() -> None:
    assert Event("presence", Parameters(id="3")).id == "3"
    assert Event("presence").id is None
    state = SubscriptionState("terminated", Parameters(expires="0", reason="timeout"))
    assert (state.expires, state.reason) == (0, "timeout")
    assert (SubscriptionState("active").expires, SubscriptionState("active").reason) == (
        None,
        None,
    )
    assert RetryAfter(5) == RetryAfter(5, "", Parameters())
