"""Hypothesis profiles for the protocol tests.

The default keeps the suite fast; ``HYPOTHESIS_PROFILE=fuzz`` runs the
property tests with 20,000 examples each (e.g. the parser fuzz property).
Tests that pin ``max_examples`` in their own ``@settings`` keep their value.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("protocols-default", max_examples=200, deadline=None)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "protocols-default"))
