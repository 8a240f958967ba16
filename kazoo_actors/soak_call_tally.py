"""What the soak's call mix counts, and the ``calls`` part of its JSON report.

Every attempted call ends with exactly one outcome: completed (answered, it ran
its length, and every check the mix asked for passed) or failed with one reason.
``answered`` counts calls the far end answered, whatever happened next, so a call
answered and then dropped, or answered without its tone being heard, is both
answered and failed. ``media_ok`` / ``dtmf_ok`` count answered calls whose check
passed; they are None when the mix does not check media (``--media none``) or sends
no digits.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kazoo_actors.soak_report import percentile


class CallTally:
    def __init__(self, *, checks_media: bool, checks_dtmf: bool) -> None:
        self.checks_media = checks_media
        self.checks_dtmf = checks_dtmf
        self.attempted = 0
        self.answered = 0
        self.completed = 0
        self.media_ok = 0
        self.dtmf_ok = 0
        self.skipped = 0
        """Generator slots with no registered pair below its call limit (not attempted)."""
        self.in_flight = 0
        self.peak_in_flight = 0
        self.failures: Counter[str] = Counter()
        self.setup_s: list[float] = []
        self.generating_s = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def started(self) -> None:
        self.attempted += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def was_answered(self, setup_s: float) -> None:
        self.answered += 1
        self.setup_s.append(setup_s)

    def finished(self, failure: str | None) -> None:
        """One call is over: ``failure`` is its reason, None when it completed."""
        self.in_flight -= 1
        if failure is None:
            self.completed += 1
        else:
            self.failures[failure] += 1

    def progress(self) -> str:
        return (
            f"calls {self.answered}/{self.attempted} answered  failed {self.failed}  "
            f"live {self.in_flight}"
        )

    def report(self) -> dict[str, Any]:
        setups = sorted(1000.0 * s for s in self.setup_s)

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        span = self.generating_s
        return {
            "attempted": self.attempted,
            "answered": self.answered,
            "failed": self.failed,
            "media_ok": self.media_ok if self.checks_media else None,
            "dtmf_ok": self.dtmf_ok if self.checks_dtmf else None,
            "setup_ms": {
                "p50": rounded(percentile(setups, 0.50)),
                "p95": rounded(percentile(setups, 0.95)),
            },
            "failures": dict(sorted(self.failures.items())),
            "skipped": self.skipped,
            "peak_in_flight": self.peak_in_flight,
            "attempted_per_s": round(self.attempted / span, 1) if span > 0 else 0.0,
            "answered_per_s": round(self.answered / span, 1) if span > 0 else 0.0,
        }
