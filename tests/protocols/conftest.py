"""Hypothesis profiles for the protocol tests.

The default keeps the suite fast; ``HYPOTHESIS_PROFILE=fuzz`` runs the
property tests with 20,000 examples each (e.g. the parser fuzz property).
Tests that pin ``max_examples`` in their own ``@settings`` keep their value.
Under CI (the ``CI`` variable set) the default profile is derandomized, as
Hypothesis's own ``ci`` profile is: the same examples every run, so that a
submission is judged on its code, not on the draw; exploration happens in
development runs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "protocols-default",
    max_examples=200,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "protocols-default"))
