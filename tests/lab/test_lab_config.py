"""The lab Kamailio's settings: what sizes it for many WebSockets."""

from __future__ import annotations

from kazoo_actors.lab.config import DEFAULT_SHARED_MEMORY_MB, KamailioSettings, shared_memory_for


def test_shared_memory_grows_with_the_websockets_a_lab_must_hold() -> None:
    assert shared_memory_for(0) == DEFAULT_SHARED_MEMORY_MB
    assert shared_memory_for(200) == DEFAULT_SHARED_MEMORY_MB
    # 10,000 WebSockets at 70-110 KB each do not fit the default 1 GB.
    assert shared_memory_for(10_000) * 1024 >= 10_000 * 110
    assert shared_memory_for(20_000) > shared_memory_for(10_000)
    assert KamailioSettings(shared_memory_mb=shared_memory_for(10_000)).shared_memory_mb > 1024
