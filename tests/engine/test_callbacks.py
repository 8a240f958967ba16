"""The program's callbacks: sync or async, called once, a raising one contained and logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing
from closed_port import closed_port_url

from kazoo_actors.callbacks import PendingCallback, call_callback, invoke_callback
from kazoo_actors.engine import open_engine
from kazoo_actors.events import AccountEvent, Notification
from kazoo_actors.params import RegisterParams


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


async def test_call_callback_leaves_only_an_async_callback_to_finish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Any] = []

    async def later(event: Any) -> None:
        seen.append(("async", event))

    async def broken_later(event: Any) -> None:
        raise RuntimeError("async boom")

    def broken(event: Any) -> None:
        raise RuntimeError("sync boom")

    assert call_callback(seen.append, 1) is True
    assert call_callback(None, 2) is True
    with caplog.at_level(logging.ERROR, logger="kazoo_actors.callbacks"):
        assert call_callback(broken, 3, account="a@x#1", name="on_error") is False
        pending = call_callback(later, 4)
        failing = call_callback(broken_later, 5, account="a@x#1", name="on_notified")
        assert isinstance(pending, PendingCallback)
        assert isinstance(failing, PendingCallback)
        assert seen == [1]  # nothing of the async ones ran yet
        assert await pending.finish()
        assert not await failing.finish()
    assert seen == [1, ("async", 4)]
    messages = [record.getMessage() for record in caplog.records]
    assert any("on_error" in m and "a@x#1" in m for m in messages)
    assert any("on_notified" in m and "a@x#1" in m for m in messages)


async def test_an_account_awaits_its_async_callbacks_in_order_and_survives_a_raising_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[str] = []

    async def on_notified(event: AccountEvent) -> None:
        assert isinstance(event, Notification)
        await trio.sleep(0.5)  # a real await inside: the account waits for it
        seen.append(f"{event.key}:{event.attempt}")
        if event.attempt == 1:
            raise RuntimeError("a program bug")

    async def on_error(event: AccountEvent) -> None:
        seen.append(event.key)

    url = closed_port_url()
    async with open_engine(monitor_connectivity=False) as engine:
        account = await engine.register(
            RegisterParams(
                ws_url=url,
                realm="void.test",
                private_identity="quinn",
                public_identity="quinn",
                password="pw",
                reconnect_delay=2000,
                reconnect_max_attempts=2,
                monitor_connectivity=False,
                on_error=on_error,
                on_notified=on_notified,
            )
        )
        with trio.fail_after(60):
            while len(seen) < 3:
                await trio.sleep(1)
        await account.logout()
        assert engine.statistics().supervisor.failures == 0
    assert seen == [
        "server_not_reachable",
        "reconnecting_notification:1",
        "reconnecting_notification:2",
    ]
