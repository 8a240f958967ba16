"""What a soak run measures, and the JSON report it writes.

``SoakRecorder`` receives every account's events (through the accounts'
callbacks, so it costs no task per account) and the run's milestones; it keeps
counters and one float per account, never the events themselves.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

import psutil

from kazoo_actors.events import AccountEvent


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class SoakRecorder:
    def __init__(self, accounts: int) -> None:
        self.accounts = accounts
        self.started_at: list[float] = [math.nan] * accounts
        self.latency_s: list[float] = []
        self.first_registered = [False] * accounts
        self.errors: Counter[str] = Counter()
        self.notifications: Counter[str] = Counter()
        self.reconnects = 0
        self.last_first_registration = math.nan
        self.run_started = time.monotonic()
        self._process = psutil.Process()
        self._cpu_at_start = self._cpu()
        self.peak_rss = self._process.memory_info().rss

    def _cpu(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def register_started(self, index: int) -> None:
        self.started_at[index] = time.monotonic()

    def event(self, index: int, event: AccountEvent, attempt_latency: float | None = None) -> None:
        """Count one event; for ``connected``, ``attempt_latency`` is the seconds since the
        attempt got its connection slot (else the time since ``register_started``)."""
        if event.key == "connected":
            if not self.first_registered[index]:
                self.first_registered[index] = True
                now = time.monotonic()
                if attempt_latency is None:
                    attempt_latency = now - self.started_at[index]
                self.latency_s.append(attempt_latency)
                self.last_first_registration = now
        elif event.key == "reconnecting_notification":
            self.reconnects += 1
            self.notifications[event.key] += 1
        elif event.key == "logged_out":
            pass
        elif event.key in ("server_not_reachable", "unauthorized", "forbidden", "disconnected"):
            self.errors[event.key] += 1
        else:
            self.notifications[event.key] += 1

    @property
    def registered(self) -> int:
        return len(self.latency_s)

    def sample(self) -> int:
        rss = int(self._process.memory_info().rss)
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def report(self, *, lost_registrations: int) -> dict[str, Any]:
        self.sample()
        latencies = sorted(1000.0 * s for s in self.latency_s)
        first = min((t for t in self.started_at if not math.isnan(t)), default=self.run_started)
        span = self.last_first_registration - first if self.registered else math.nan
        rate = self.registered / span if self.registered and span > 0 else 0.0

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "accounts": self.accounts,
            "registered": self.registered,
            "failed": self.accounts - self.registered,
            "registrations_per_s": round(rate, 1),
            "register_latency_ms": {
                "p50": rounded(percentile(latencies, 0.50)),
                "p95": rounded(percentile(latencies, 0.95)),
                "p99": rounded(percentile(latencies, 0.99)),
            },
            "errors": dict(sorted(self.errors.items())),
            "notifications": dict(sorted(self.notifications.items())),
            "reconnects": self.reconnects,
            "lost_registrations": lost_registrations,
            "peak_rss_mb": round(self.peak_rss / 1e6, 1),
            "cpu_s": round(self._cpu() - self._cpu_at_start, 2),
            "duration_s": round(time.monotonic() - self.run_started, 2),
        }
