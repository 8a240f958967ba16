"""The Kamailio settings every registration benchmark runs its lab server with."""

from __future__ import annotations

from typing import Any

from kazoo_actors.lab.config import KamailioSettings

SHARED_MEMORY_MB = 4096
"""Kamailio holds 70-110 KB of shared memory per WebSocket (LAB-NOTES): the lab's default
of 1 GB runs out near 10,000 connections, and one peer's closed connections are freed
lazily while the next peer connects. Shared memory is mapped, not touched, up front."""


def bench_settings(**changes: Any) -> KamailioSettings:
    return KamailioSettings(shared_memory_mb=SHARED_MEMORY_MB, **changes)
