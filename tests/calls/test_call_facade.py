"""The Call facade: argument checks happen before anything is posted; ended calls refuse."""

from __future__ import annotations

import pytest
import trio

from kazoo_actors.call import (
    Accept,
    Call,
    CallError,
    Command,
    Hangup,
    MuteRequest,
    NoCurrentCall,
    Reject,
    SendDtmf,
    Transfer,
)
from kazoo_actors.event_feed import EventFeed
from media.probe import ProbeReading
from media.session import MediaSession, MediaStatistics


class FakeTask:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.ended = trio.Event()

    @property
    def call_id(self) -> str:
        return "abc"

    @property
    def state(self) -> str:
        return "ringing"

    @property
    def answered(self) -> bool:
        return False

    @property
    def session_ended(self) -> bool:
        return self.ended.is_set()

    def command(self, item: Command) -> None:
        self.commands.append(item)

    def probe(self) -> ProbeReading | None:
        return None

    def media_statistics(self) -> MediaStatistics | None:
        return None

    @property
    def media(self) -> MediaSession | None:
        return None

    async def wait_ended(self) -> None:
        await self.ended.wait()


def make_call() -> tuple[Call, FakeTask]:
    task = FakeTask()
    call = Call(
        task,
        account="alice@example.com#1",
        direction="incoming",
        remote_uri="sip:bob@example.com",
        caller_name="Bob Builder",
        caller_number="bob",
        feed=EventFeed(),
    )
    return call, task


def test_commands_are_posted_in_order() -> None:
    call, task = make_call()
    call.accept()
    call.send_dtmf("a")
    call.transfer("sip:carol@example.com")
    call.reject()
    call.hangup()
    assert task.commands == [
        Accept(None),
        SendDtmf("A"),
        Transfer("sip:carol@example.com"),
        Reject(486),
        Hangup(),
    ]
    assert (call.caller_name, call.caller_number, call.id) == ("Bob Builder", "bob", "abc")


@pytest.mark.parametrize("digit", ["", "12", "x", "E", "#*", " "])
def test_invalid_digit_raises_and_sends_nothing(digit: str) -> None:
    call, task = make_call()
    with pytest.raises(ValueError, match="invalid DTMF digit"):
        call.send_dtmf(digit)
    assert task.commands == []


def test_reject_needs_a_failure_code() -> None:
    call, task = make_call()
    for code in (200, 180, 700):
        with pytest.raises(ValueError):
            call.reject(code)
    call.reject(603)
    assert task.commands == [Reject(603)]


async def test_ended_call_refuses_commands_and_mute_reports_the_error() -> None:
    call, task = make_call()
    task.ended.set()
    with pytest.raises(CallError):
        call.hangup()
    errors: list[Exception] = []
    request = call.mute_microphone(True, on_error=errors.append)
    assert len(errors) == 1 and isinstance(errors[0], CallError)
    with pytest.raises(CallError):
        await request
    assert task.commands == []


async def test_mute_request_is_awaitable_and_resolves() -> None:
    call, task = make_call()
    request = call.mute_microphone(True)
    assert task.commands == [request]
    assert isinstance(request, MuteRequest)
    request.resolve()
    assert await request is True


def test_no_current_call_is_a_lookup_error() -> None:
    assert issubclass(NoCurrentCall, LookupError)
    assert issubclass(NoCurrentCall, CallError)
