"""TimerSettings derives each timer's first interval once; what it answers
must be the RFC 3261 table (transaction_timers' docstring) for any settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip.transaction_timers import ALL_TIMERS, TimerSettings

positive = st.floats(min_value=0.001, max_value=1000, allow_nan=False)


@st.composite
def timer_settings(draw: st.DrawFn) -> TimerSettings:
    t1 = draw(positive)
    return TimerSettings(
        t1=t1,
        t2=t1 + draw(st.floats(min_value=0, max_value=100)),
        t4=draw(positive),
        timer_c=draw(positive),
        timer_d=draw(positive),
        trying_delay=draw(positive),
    )


def rfc_initial(settings: TimerSettings, name: str, reliable: bool) -> float:
    if reliable and name in "DIJK":
        return 0.0
    return {
        "A": settings.t1,
        "E": settings.t1,
        "G": settings.t1,
        "I": settings.t4,
        "K": settings.t4,
        "C": settings.timer_c,
        "D": settings.timer_d,
        "Trying": settings.trying_delay,
    }.get(name, 64 * settings.t1)


@given(timer_settings(), st.booleans())
def test_initial_intervals_follow_the_rfc_table(settings: TimerSettings, reliable: bool) -> None:
    for name in ALL_TIMERS:
        assert settings.initial(name, reliable) == rfc_initial(settings, name, reliable)


def test_settings_compare_and_hash_by_their_fields_only() -> None:
    assert TimerSettings(t1=1.0) == TimerSettings(t1=1.0)
    assert hash(TimerSettings(t1=1.0)) == hash(TimerSettings(t1=1.0))
    assert TimerSettings(t1=1.0) != TimerSettings()
    assert repr(TimerSettings()) == (
        "TimerSettings(t1=0.5, t2=4.0, t4=5.0, timer_c=180.0, timer_d=32.0, trying_delay=0.2)"
    )


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        TimerSettings(t1=2.0, t2=1.0)
    with pytest.raises(ValueError):
        TimerSettings(t4=0)
