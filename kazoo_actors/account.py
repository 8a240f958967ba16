"""``Account``: what ``engine.register`` returns, the program's handle on one registration.

The methods mirror kazoo.js (``logout``, ``reconnect``, ``startAutoReconnect``,
``stopAutoReconnect``, ``monitorConnectivity``) in snake case. Sync methods
only post a command to the account actor and return at once; ``logout`` is
async because it waits for the registrar to confirm (bounded by the actor).
Events come through the ``on_*`` callbacks of ``RegisterParams`` and through
``events()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import trio

from kazoo_actors.actors.account import AccountActor
from kazoo_actors.actors.account_commands import (
    Command,
    Logout,
    Reconnect,
    SetAutoReconnect,
    SetMonitorConnectivity,
)
from kazoo_actors.actors.account_state import AccountState, AccountStatistics
from kazoo_actors.actors.call_router import CallDefaults
from kazoo_actors.call import Call, MuteRequest
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.events import AccountEvent
from kazoo_actors.params import RegisterParams
from media.options import MediaOptions
from media.sinks import AudioSink
from media.sources import AudioSource


class Account:
    __slots__ = ("_actor", "_feed", "_forget", "address", "id")

    def __init__(
        self,
        actor: AccountActor,
        feed: EventFeed,
        *,
        id: str,
        forget: Callable[[str], Awaitable[None]],
        address: str | None = None,
    ) -> None:
        self._actor = actor
        self._feed = feed
        self._forget = forget
        self.id = id
        self.address = address
        """The server's IP address whose network path the engine watches (None: unwatched)."""

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.state.value}>"

    @property
    def params(self) -> RegisterParams:
        return self._actor.params

    @property
    def state(self) -> AccountState:
        return self._actor.state

    @property
    def registered(self) -> bool:
        return self._actor.state is AccountState.REGISTERED

    def events(self) -> AsyncIterator[AccountEvent]:
        """Every event from now on (and the recent ones not yet read); ends after logout."""
        return self._feed.watch()

    async def logout(self) -> None:
        """Unregister (Expires: 0), close the connection and stop the account."""
        if not self._actor.finished:
            done = trio.Event()
            self._post(Logout(done))
            await done.wait()
        await self._forget(self.id)

    def reconnect(self) -> None:
        """Drop the connection (if any) and try again now, with ``reconnecting_notification``."""
        self._post(Reconnect())

    def start_auto_reconnect(self) -> None:
        self._post(SetAutoReconnect(True))

    def stop_auto_reconnect(self) -> None:
        self._post(SetAutoReconnect(False))

    def monitor_connectivity(self, enabled: bool) -> None:
        self._post(SetMonitorConnectivity(enabled))

    def statistics(self) -> AccountStatistics:
        return self._actor.statistics()

    @property
    def attempt_started_at(self) -> float:
        """When the latest connection attempt took its slot (Trio's clock; NaN before the
        first): ``statistics().attempt_started_at`` without building the whole record."""
        return self._actor.attempt_started_at

    # -- calls (kazoo.js connect/hangup/sendDTMF/transfer/muteMicrophone) --------------

    @property
    def call_defaults(self) -> CallDefaults:
        """Media options, source/sink factories, DTMF method and answer timeout of new calls."""
        return self._actor.calls.defaults

    async def connect(
        self,
        uri: str,
        *,
        media_options: MediaOptions | None = None,
        source: AudioSource | None = None,
        sinks: list[AudioSink] | None = None,
    ) -> Call:
        """Call ``uri`` (``sip:bob@realm``, ``bob@realm`` or ``bob``); returns once the
        INVITE is sent. ``CallError`` when the account is not registered."""
        return await self._actor.calls.start_call(
            uri, media_options=media_options, source=source, sinks=sinks
        )

    def calls(self) -> list[Call]:
        return self._actor.calls.calls()

    @property
    def current_call(self) -> Call:
        """The call the methods below act on; ``NoCurrentCall`` when there is none."""
        return self._actor.calls.current()

    def hangup(self) -> None:
        self.current_call.hangup()

    def send_dtmf(self, digit: str) -> None:
        self.current_call.send_dtmf(digit)

    def transfer(self, uri: str) -> None:
        self.current_call.transfer(uri)

    def mute_microphone(
        self,
        mute: bool,
        on_success: Callable[..., Any] | None = None,
        on_error: Callable[..., Any] | None = None,
    ) -> MuteRequest:
        return self.current_call.mute_microphone(mute, on_success, on_error)

    def _post(self, command: Command) -> None:
        # Never refused: the mailbox merges a command into the redundant pending ones
        # (see command_merging), so a setter called in a loop keeps it small.
        self._actor.mailbox.put_nowait(command)

    def _replace_actor(self, actor: AccountActor) -> None:
        """After a crash the supervisor starts a fresh actor; the handle follows it."""
        self._actor = actor
