"""When to try reconnecting: the seed's rules plus optional backoff, as pure data and math.

``ReconnectPolicy`` (frozen; times in seconds):

- ``max_attempts``: the seed's ``reconnectMaxAttempts`` — 0 disables automatic
  reconnection, a negative value means forever (default -1), N > 0 allows N attempts
  per disconnection.
- ``delay``: the seed's ``reconnectDelay`` / 1000 — at least 2 s, default 5 s, the pause
  between one failed attempt and the next.
- ``first_delay`` + ``uniform(0, first_jitter)``: the first attempt comes shortly after the
  disconnection (0.5 to 1.0 s by default), jittered so accounts cut off together do not
  all come back in the same millisecond.
- ``backoff=True``: "full jitter" exponential backoff instead of the fixed delay — the
  pause before attempt ``n >= 2`` is ``uniform(0, min(backoff_cap, delay * 2**(n-2)))``, so
  thousands of accounts spread out instead of reconnecting in lock-step.

``ReconnectPolicy.from_seed(reconnect_max_attempts, reconnect_delay_ms, ...)`` builds one
from the kazoo.js values.  Randomness is always passed in (a ``random.Random``), so the
policy stays a value and tests can seed it.
"""

from __future__ import annotations

import random
from typing import Any

import attrs

MIN_DELAY = 2.0
"""The seed's minimum ``reconnectDelay`` (2000 ms)."""


def _at_least_min_delay(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < MIN_DELAY:
        raise ValueError(f"{attribute.name} must be at least {MIN_DELAY} s, got {value!r}")


def _non_negative(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    max_attempts: int = -1
    delay: float = attrs.field(default=5.0, validator=_at_least_min_delay)
    first_delay: float = attrs.field(default=0.5, validator=_non_negative)
    first_jitter: float = attrs.field(default=0.5, validator=_non_negative)
    backoff: bool = False
    backoff_cap: float = attrs.field(default=60.0, validator=_at_least_min_delay)

    @classmethod
    def from_seed(
        cls,
        reconnect_max_attempts: int = -1,
        reconnect_delay_ms: int = 5000,
        *,
        backoff: bool = False,
        backoff_cap: float = 60.0,
    ) -> ReconnectPolicy:
        return cls(
            max_attempts=reconnect_max_attempts,
            delay=reconnect_delay_ms / 1000.0,
            backoff=backoff,
            backoff_cap=backoff_cap,
        )

    @property
    def auto_enabled(self) -> bool:
        """Whether automatic reconnection is on before anyone calls start/stop."""
        return self.max_attempts != 0

    def allows_another(self, attempts_made: int, *, explicitly_started: bool = False) -> bool:
        """May an automatic attempt follow ``attempts_made`` attempts of this run?

        A run started explicitly (``start_auto_reconnect``) with ``max_attempts == 0`` has
        no limit: the program asked for it although the configuration disabled it.
        """
        if self.max_attempts < 0 or (self.max_attempts == 0 and explicitly_started):
            return True
        return attempts_made < self.max_attempts

    def delay_before(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before automatic attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if attempt == 1:
            return self.first_delay + rng.uniform(0.0, self.first_jitter)
        if not self.backoff:
            return self.delay
        return rng.uniform(0.0, self.backoff_ceiling(attempt))

    def backoff_ceiling(self, attempt: int) -> float:
        """The upper bound of the full-jitter delay before ``attempt`` (>= 2)."""
        exponent = attempt - 2
        # 2**64 * delay is beyond any cap; stop the growth before floats overflow.
        if exponent >= 64:
            return self.backoff_cap
        return min(self.backoff_cap, self.delay * 2.0**exponent)
