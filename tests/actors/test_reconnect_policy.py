"""The pure reconnect policy: seed defaults, limits, first-attempt jitter, full-jitter backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kazoo_actors.reconnect_policy import MIN_DELAY, ReconnectPolicy


def test_seed_defaults() -> None:
    policy = ReconnectPolicy.from_seed()
    assert policy.max_attempts == -1
    assert policy.delay == 5.0
    assert policy.auto_enabled
    assert not ReconnectPolicy.from_seed(0).auto_enabled
    assert ReconnectPolicy.from_seed(3, 2000).delay == MIN_DELAY


def test_delay_below_the_seed_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match=r"delay must be at least 2\.0 s"):
        ReconnectPolicy.from_seed(reconnect_delay_ms=1999)
    with pytest.raises(ValueError, match="first_jitter must be >= 0"):
        ReconnectPolicy(first_jitter=-0.1)


@pytest.mark.parametrize(
    ("max_attempts", "explicit", "made", "allowed"),
    [
        (-1, False, 10_000, True),
        (3, False, 2, True),
        (3, False, 3, False),
        (3, True, 3, False),
        (0, False, 0, False),
        (0, True, 50, True),
    ],
)
def test_attempt_budget(max_attempts: int, explicit: bool, made: int, allowed: bool) -> None:
    policy = ReconnectPolicy(max_attempts=max_attempts)
    assert policy.allows_another(made, explicitly_started=explicit) is allowed


@given(st.integers(min_value=0, max_value=2**32))
def test_first_attempt_comes_shortly(seed: int) -> None:
    policy = ReconnectPolicy()
    delay = policy.delay_before(1, random.Random(seed))
    assert 0.5 <= delay <= 1.0


@given(st.integers(min_value=2, max_value=500), st.integers(min_value=0, max_value=2**32))
def test_fixed_delay_between_attempts(attempt: int, seed: int) -> None:
    policy = ReconnectPolicy(delay=7.5)
    assert policy.delay_before(attempt, random.Random(seed)) == 7.5


@given(
    st.integers(min_value=2, max_value=10_000),
    st.floats(min_value=2, max_value=30),
    st.floats(min_value=2, max_value=600),
    st.integers(min_value=0, max_value=2**32),
)
def test_full_jitter_backoff_stays_under_the_capped_ceiling(
    attempt: int, delay: float, cap: float, seed: int
) -> None:
    policy = ReconnectPolicy(delay=delay, backoff=True, backoff_cap=cap)
    ceiling = min(cap, delay * 2.0 ** min(attempt - 2, 64))
    assert policy.backoff_ceiling(attempt) == pytest.approx(ceiling)
    assert 0.0 <= policy.delay_before(attempt, random.Random(seed)) <= ceiling


def test_full_jitter_spreads_accounts_out() -> None:
    policy = ReconnectPolicy(delay=2.0, backoff=True, backoff_cap=30.0)
    rng = random.Random(7)
    delays = [policy.delay_before(6, rng) for _ in range(10_000)]
    # Uniform over [0, 30]: about a tenth in each tenth of the range.
    buckets = [0] * 10
    for d in delays:
        buckets[min(int(d / 3.0), 9)] += 1
    assert all(800 < b < 1200 for b in buckets)


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        ReconnectPolicy().delay_before(0, random.Random(0))
