"""The program's callbacks: sync or async, called once, a raising one contained and logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kazoo_actors.callbacks import invoke_callback


class AsyncCallable:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def __call__(self, event: Any) -> None:
        self.seen.append(event)


async def test_sync_and_async_callables_are_each_called_once() -> None:
    seen: list[Any] = []

    def plain(event: Any) -> None:
        seen.append(("plain", event))

    async def coroutine(event: Any) -> None:
        seen.append(("async", event))

    obj = AsyncCallable()
    assert await invoke_callback(plain, 1)
    assert await invoke_callback(coroutine, 2)
    assert await invoke_callback(obj, 3)
    assert await invoke_callback(lambda event: coroutine(event), 4)  # returns an awaitable
    assert await invoke_callback(None, 5)
    assert seen == [("plain", 1), ("async", 2), ("async", 4)]
    assert obj.seen == [3]


async def test_a_raising_callback_is_contained_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("sync boom")

    async def broken_async(event: Any) -> None:
        raise RuntimeError("async boom")

    with caplog.at_level(logging.ERROR, logger="kazoo_actors.callbacks"):
        assert not await invoke_callback(broken, 1, account="a@x#1", name="on_error")
        assert not await invoke_callback(broken_async, 1, account="a@x#1", name="on_connected")
    messages = [record.getMessage() for record in caplog.records]
    assert any("on_error" in m and "a@x#1" in m for m in messages)
    assert any("on_connected" in m for m in messages)
