"""``Call``: the program's handle on one call, what ``account.connect`` and ``on_incoming`` give.

Methods mirror kazoo.js: ``accept()``, ``reject(code=486)``, ``hangup()``,
``send_dtmf(digit)``, ``transfer(uri)``, ``mute_microphone(mute, on_success,
on_error)``, plus ``caller_name`` / ``caller_number`` (display name and user
part of From). They are sync and never block: each posts a command to the
call's task. ``mute_microphone`` also returns an awaitable that completes when
the media layer applied it (or raises ``CallError``), so both the seed's
callback form and ``await call.mute_microphone(True)`` work.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Protocol, cast

import attrs
import trio

from kazoo_actors.errors import KazooError
from kazoo_actors.event_feed import EventFeed
from media.probe import ProbeReading
from media.session import MediaSession, MediaStatistics
from media.sources import AudioSource
from protocols.sip.dtmf_relay import check_digit


class CallError(KazooError):
    """The call cannot do what was asked (ended, not answered yet, not registered...)."""


class NoCurrentCall(CallError, LookupError):
    """An account-level call method was used while the account has no call."""


@attrs.frozen
class Accept:
    source: AudioSource | None = None


@attrs.frozen
class Reject:
    code: int


@attrs.frozen
class Hangup:
    pass


@attrs.frozen
class SendDtmf:
    digit: str


@attrs.frozen
class Transfer:
    target: str


class MuteRequest:
    """The awaitable ``mute_microphone`` returns; awaiting it is optional."""

    __slots__ = ("_done", "_error", "muted", "on_error", "on_success")

    def __init__(
        self,
        muted: bool,
        on_success: Callable[..., Any] | None,
        on_error: Callable[..., Any] | None,
    ) -> None:
        self.muted = muted
        self.on_success = on_success
        self.on_error = on_error
        self._done = trio.Event()
        self._error: CallError | None = None

    def resolve(self, error: CallError | None = None) -> None:
        self._error = error
        self._done.set()

    async def _wait(self) -> bool:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self.muted

    def __await__(self) -> Generator[Any, None, bool]:
        return self._wait().__await__()


Command = Accept | Reject | Hangup | SendDtmf | Transfer | MuteRequest


class CallTask(Protocol):
    """What the facade needs from its call actor."""

    @property
    def call_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def answered(self) -> bool: ...
    @property
    def session_ended(self) -> bool: ...
    def command(self, item: Command) -> None: ...
    def probe(self) -> ProbeReading | None: ...
    def media_statistics(self) -> MediaStatistics | None: ...
    @property
    def media(self) -> MediaSession | None: ...
    async def wait_ended(self) -> None: ...


class Call:
    __slots__ = (
        "_feed",
        "_task",
        "account",
        "caller_name",
        "caller_number",
        "direction",
        "remote_uri",
    )

    def __init__(
        self,
        task: CallTask,
        *,
        account: str,
        direction: str,
        remote_uri: str,
        caller_name: str,
        caller_number: str,
        feed: EventFeed,
    ) -> None:
        self._task = task
        self._feed = feed
        self.account = account
        self.direction = direction
        self.remote_uri = remote_uri
        self.caller_name = caller_name
        self.caller_number = caller_number

    def __repr__(self) -> str:
        return f"<Call {self.direction} {self.remote_uri} {self.state}>"

    @property
    def id(self) -> str:
        """The SIP Call-ID."""
        return self._task.call_id

    @property
    def state(self) -> str:
        return self._task.state

    @property
    def answered(self) -> bool:
        return self._task.answered

    @property
    def ended(self) -> bool:
        return self._task.session_ended

    def events(self) -> AsyncGenerator[Any, None]:
        """This call's events (``kazoo_actors.call_events``); ends when the call is over.

        An async generator: a program that stops early can close it at once
        (``contextlib.aclosing``) instead of leaving it to the garbage collector."""
        return cast(AsyncGenerator[Any, None], self._feed.__aiter__())

    async def wait_ended(self) -> None:
        await self._task.wait_ended()

    def accept(self, source: AudioSource | None = None) -> None:
        """Answer an incoming call (optionally sending from ``source``)."""
        self._post(Accept(source))

    def reject(self, code: int = 486) -> None:
        if not 300 <= code <= 699:
            raise ValueError(f"reject needs a 3xx-6xx code, not {code}")
        self._post(Reject(code))

    def hangup(self) -> None:
        """CANCEL, decline (603) or BYE, whichever ends the call from where it is."""
        self._post(Hangup())

    def send_dtmf(self, digit: str) -> None:
        """One digit of ``0-9 * # A-D``; ValueError (and nothing sent) for anything else."""
        self._post(SendDtmf(check_digit(digit)))

    def transfer(self, uri: str) -> None:
        """Blind transfer of the far end to ``uri`` (REFER); see call_events for the stages."""
        self._post(Transfer(uri))

    def mute_microphone(
        self,
        mute: bool,
        on_success: Callable[..., Any] | None = None,
        on_error: Callable[..., Any] | None = None,
    ) -> MuteRequest:
        request = MuteRequest(bool(mute), on_success, on_error)
        if self.ended:
            request.resolve(CallError("the call is over"))
            if on_error is not None:
                on_error(CallError("the call is over"))
            return request
        self._post(request)
        return request

    def probe(self) -> ProbeReading | None:
        """Level and dominant frequency of the audio received lately (None without media)."""
        return self._task.probe()

    def media_statistics(self) -> MediaStatistics | None:
        return self._task.media_statistics()

    @property
    def media(self) -> MediaSession | None:
        """The call's media session, to observe (timings, frames); None for signalling-only
        calls and before the call task made it."""
        return self._task.media

    def _post(self, item: Command) -> None:
        if self.ended:
            raise CallError(f"call {self.id} is over")
        self._task.command(item)
