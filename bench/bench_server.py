"""The Kamailio settings every registration benchmark runs its lab server with."""

from __future__ import annotations

from typing import Any

from kazoo_actors.lab.config import KamailioSettings, shared_memory_for


def bench_settings(accounts: int, **changes: Any) -> KamailioSettings:
    """A lab for peers that each register ``accounts`` accounts, one peer after another:
    a previous peer's closed connections are freed lazily while the next one connects."""
    return KamailioSettings(shared_memory_mb=shared_memory_for(2 * accounts), **changes)
