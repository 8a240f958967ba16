"""The task that owns one account's call tasks, started at the account's first call.

An account that never calls (most of ten thousand registered ones) should hold
nothing for calls: a nursery opened in every account task cost ~1.8 KB each.
So the nursery that owns the calls lives in a task of its own, started on
demand in the nursery that owns the account's task, and the account ends it
(cancelled, then awaited) when the account's task ends: calls never outlive
their account, as with a nursery inside the account task.

Call tasks contain their own failures once started (``CallActor.run``); a
failure before ``started`` goes to whoever awaits ``start``. So nothing but
cancellation is expected to leave this task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

log = logging.getLogger("kazoo_actors.calls")

CallTask = Callable[..., Awaitable[None]]


class CallHost:
    __slots__ = ("_account", "_done", "_nursery", "_pending", "_ready", "_scope")

    def __init__(self, owner: trio.Nursery, account: str) -> None:
        self._account = account
        self._scope = trio.CancelScope()
        self._ready = trio.Event()
        self._done = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._pending: list[CallTask] = []
        owner.start_soon(self._run, name=f"calls of {account}")

    async def _run(self) -> None:
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    pending, self._pending = self._pending, []
                    for task in pending:
                        nursery.start_soon(task)
                    self._ready.set()
                    await trio.sleep_forever()
        except Exception:
            log.exception("account %s: its calls failed", self._account)
        finally:
            self._nursery = None
            self._ready.set()
            self._done.set()

    @property
    def open(self) -> bool:
        return not self._scope.cancel_called

    def start_soon(self, task: CallTask) -> None:
        """Run ``task`` (an incoming call): now, or as soon as the host task runs."""
        if self._nursery is not None:
            self._nursery.start_soon(task)
        else:
            self._pending.append(task)

    async def wait_ready(self) -> bool:
        """Until the host's nursery exists; False when the host has ended instead.
        True means ``start_soon`` runs a task now, as long as nothing is awaited first."""
        await self._ready.wait()
        return self._nursery is not None

    async def start(self, task: CallTask) -> Any:
        """``nursery.start`` in the host's nursery; None when the host has ended."""
        await self._ready.wait()
        if self._nursery is None:
            return None
        return await self._nursery.start(task)

    async def aclose(self) -> None:
        """Cancel every call and wait for their tasks to finish (even when cancelled)."""
        self._scope.cancel()
        with trio.CancelScope(shield=True):
            await self._done.wait()


__all__ = ["CallHost"]
