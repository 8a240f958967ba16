"""``granted_expiry`` reads the expires of a plain Contact that starts with our
URI right after the URI (``expires_prefix``): the same answer as splitting every
Contact's parameters, whatever the registrar wrote back."""

from __future__ import annotations

import random

from hypothesis import example, given
from hypothesis import strategies as st

from protocols.sip.message import SipResponse
from protocols.sip.registration_timing import (
    MAX_GUARD,
    REFRESH_WINDOW,
    granted_expiry,
    refresh_delay,
)

HOST = "k3jd9x0q2m1z.invalid"
INSTANCE = "<urn:uuid:128b2f33-0c5c-4fd0-a6a3-a4506513270e>"
PREFIX = f"<sip:alice@{HOST};transport=ws>;expires="

URIS = st.sampled_from(
    [
        f"<sip:alice@{HOST};transport=ws>",
        f"<sip:alice@{HOST.upper()};transport=ws>",
        f"<sip:bob@{HOST};transport=ws>",
        "<sip:alice@other-device.invalid;transport=ws>",
        f'"Alice" <sip:alice@{HOST};transport=ws>',
        f"<sip:alice@{HOST}>",
    ]
)
EXPIRES = st.sampled_from(
    ["600", "0", "120", '"600"', "600abc", "12345678901", "600.5", "", "6_0", "3600 "]
)
PARAMS = st.sampled_from(
    [
        'received="sip:127.0.0.1:33606;transport=ws"',
        f'+sip.instance="{INSTANCE}"',
        '+sip.instance="<urn:uuid:other>"',
        "reg-id=1",
        "expires=30",
        "Expires=45",
        "q=0.5",
        "x=a,b",
    ]
)


@st.composite
def contact_values(draw: st.DrawFn) -> str:
    value = draw(URIS)
    if draw(st.booleans()):
        value += f";expires={draw(EXPIRES)}"
    for param in draw(st.lists(PARAMS, max_size=3)):
        value += f";{param}"
    return value


def _response(contacts: list[str], expires: str | None) -> SipResponse:
    response = SipResponse(200, "OK")
    for value in contacts:
        response.headers.add("Contact", value)
    if expires is not None:
        response.headers.add("Expires", expires)
    return response


@given(
    st.lists(contact_values(), max_size=4),
    st.one_of(st.none(), st.sampled_from(["900", "x"])),
    st.integers(1, 3600),
)
@example([f'{PREFIX}600;received="sip:127.0.0.1:33606;transport=ws";reg-id=1'], None, 600)
@example([f"{PREFIX}600;expires=30"], "900", 600)
@example([f'{PREFIX}"600"', f"{PREFIX}120"], None, 600)
@example([f"{PREFIX}600;x=a,b"], None, 600)
@example(
    [f"{PREFIX}600abc", f'<sip:x@y;transport=ws>;+sip.instance="{INSTANCE}";expires=7'], None, 9
)
def test_the_prefix_finds_what_the_general_reading_finds(
    contacts: list[str], expires: str | None, requested: int
) -> None:
    response = _response(contacts, expires)
    general = granted_expiry(response, HOST, INSTANCE, requested)
    assert granted_expiry(response, HOST, INSTANCE, requested, expires_prefix=PREFIX) == general


def test_kamailios_binding_is_read_after_the_prefix() -> None:
    value = f'{PREFIX}321;received="sip:127.0.0.1:33606;transport=ws";+sip.instance="{INSTANCE}"'
    assert (
        granted_expiry(_response([value], "900"), HOST, INSTANCE, 600, expires_prefix=PREFIX) == 321
    )


@given(
    st.integers(1, 100_000),
    st.floats(0, 1e6),
    st.floats(0, 10),
    st.integers(0, 2**32),
)
def test_refresh_delay_draws_what_uniform_over_the_window_draws(
    granted: int, sent_at: float, late: float, seed: int
) -> None:
    twin = random.Random(seed)
    guard = min(MAX_GUARD, granted / 2)
    target = sent_at + granted * twin.uniform(*REFRESH_WINDOW)
    expected = max(0.0, min(target, sent_at + granted - guard) - (sent_at + late))
    assert refresh_delay(granted, sent_at, sent_at + late, random.Random(seed)) == expected
