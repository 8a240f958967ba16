"""Two engine accounts call each other through a real Kamailio with real aiortc media."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from engine_recorder import Recorder, lab_params

from kazoo_actors.account import Account
from kazoo_actors.call import Call, NoCurrentCall
from kazoo_actors.call_events import CallCancel, CallHangup, DtmfReceived
from kazoo_actors.engine import Engine, open_engine
from kazoo_actors.lab.kamailio import KamailioServer
from media.options import MediaOptions
from media.sources import Tone

pytestmark = pytest.mark.kamailio

LOOPBACK = MediaOptions(host_addresses=["127.0.0.1"])


class CallRecorder(Recorder):
    """Every event of ``account.events()``; the calls and events the callbacks got, apart."""

    def __init__(self) -> None:
        super().__init__()
        self.incoming: list[Call] = []
        self.callbacks: list[tuple[str, str]] = []

    def on_incoming(self, call: Call) -> None:
        self.incoming.append(call)
        self.callbacks.append(("on_incoming", call.caller_number))

    def callback(self, name: str) -> Any:
        def record(event: Any) -> None:
            self.callbacks.append((name, event.key))

        return record

    async def next_incoming(self, timeout: float = 10.0) -> Call:
        with trio.fail_after(timeout):
            while not self.incoming:
                await trio.sleep(0.02)
        return self.incoming.pop(0)

    async def follow(self, account: Account) -> None:
        async for event in account.events():
            self(event)


async def register(
    engine: Engine,
    nursery: trio.Nursery,
    server: KamailioServer,
    user: str,
    tone: float,
    **changes: Any,
) -> tuple[Account, CallRecorder]:
    recorder = CallRecorder()
    params = lab_params(
        server,
        user,
        on_incoming=recorder.on_incoming,
        on_accepted=recorder.callback("on_accepted"),
        on_hangup=recorder.callback("on_hangup"),
        on_cancel=recorder.callback("on_cancel"),
        on_transfer=recorder.callback("on_transfer"),
        **changes,
    )
    account = await engine.register(params)
    account.call_defaults.media_options = LOOPBACK
    account.call_defaults.source = lambda: Tone(tone)
    nursery.start_soon(recorder.follow, account)
    await recorder.wait_for("connected")
    return account, recorder


@asynccontextmanager
async def two_accounts(
    server: KamailioServer,
) -> AsyncIterator[tuple[Account, CallRecorder, Account, CallRecorder]]:
    async with open_engine() as engine, trio.open_nursery() as nursery:
        alice, alice_events = await register(engine, nursery, server, "alice", 440.0)
        bob, bob_events = await register(engine, nursery, server, "bob", 880.0)
        yield alice, alice_events, bob, bob_events
        nursery.cancel_scope.cancel()


async def answered_call(
    caller: Account, caller_events: CallRecorder, callee_events: CallRecorder, uri: str = "bob"
) -> tuple[Call, Call]:
    """The caller calls ``uri``, the callee accepts; returns (outgoing, incoming) once both
    sides reported the call accepted."""
    call = await caller.connect(uri)
    incoming = await callee_events.next_incoming()
    incoming.accept()
    await caller_events.wait_for("accepted")
    await callee_events.wait_for("accepted")
    return call, incoming


async def heard(call: Call, seconds: float = 0.6) -> float | None:
    await trio.sleep(seconds)
    reading = call.probe()
    assert reading is not None
    return reading.frequency


def near(measured: float | None, expected: float) -> bool:
    return measured is not None and abs(measured - expected) < 30


async def test_call_answer_tones_dtmf_and_bye_from_the_caller(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        with pytest.raises(NoCurrentCall):
            alice.hangup()
        with trio.fail_after(20):
            outgoing = await alice.connect("bob")
            incoming = await bob_events.next_incoming()
            assert incoming.caller_number == "alice"
            assert incoming.direction == "incoming"
            await alice_events.wait_for("call_progress")
            incoming.accept()
            await alice_events.wait_for("accepted")
            await bob_events.wait_for("accepted")
            assert ("on_accepted", "accepted") in alice_events.callbacks
            assert ("on_incoming", "alice") in bob_events.callbacks
            assert near(await heard(outgoing), 880.0)
            assert near(await heard(incoming), 440.0)

            for digit in "12#":
                alice.send_dtmf(digit)
            for digit in "9*":
                incoming.send_dtmf(digit)
            await bob_events.wait_for("dtmf", count=3)
            await alice_events.wait_for("dtmf", count=2)
            got_bob = [e.digit for e in bob_events.events if isinstance(e, DtmfReceived)]
            got_alice = [e.digit for e in alice_events.events if isinstance(e, DtmfReceived)]
            assert got_bob == ["1", "2", "#"]
            assert got_alice == ["9", "*"]
            with pytest.raises(ValueError):
                alice.send_dtmf("x")

            alice.hangup()
            hangup = await bob_events.wait_for("hangup")
            assert isinstance(hangup, CallHangup)
            assert hangup.source == "remote"
            mine = await alice_events.wait_for("hangup")
            assert isinstance(mine, CallHangup) and mine.source == "local"
            await outgoing.wait_ended()
            await incoming.wait_ended()
        assert alice.registered and bob.registered
        assert alice.calls() == [] and bob.calls() == []


async def test_callee_hangs_up_with_bye(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        with trio.fail_after(20):
            await alice.connect("sip:bob@" + kamailio.realm)
            incoming = await bob_events.next_incoming()
            incoming.accept()
            await alice_events.wait_for("accepted")
            await bob_events.wait_for("accepted")
            bob.hangup()
            theirs = await alice_events.wait_for("hangup")
            assert isinstance(theirs, CallHangup) and theirs.source == "remote"
            await bob_events.wait_for("hangup")


async def test_reject_is_busy_here_on_the_callers_side(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, bob_events):
        with trio.fail_after(20):
            call = await alice.connect("bob")
            incoming = await bob_events.next_incoming()
            incoming.reject()
            cancel = await alice_events.wait_for("cancel")
            assert isinstance(cancel, CallCancel)
            assert (cancel.code, cancel.message, cancel.source) == (486, "Busy Here", "remote")
            await call.wait_ended()
            mine = await bob_events.wait_for("cancel")
            assert isinstance(mine, CallCancel) and mine.source == "local"
            assert alice_events.count("accepted") == 0
            assert ("on_cancel", "cancel") in alice_events.callbacks


async def test_cancel_before_answer(kamailio: KamailioServer) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, bob, bob_events):
        with trio.fail_after(20):
            call = await alice.connect("bob")
            incoming = await bob_events.next_incoming()
            await alice_events.wait_for("call_progress")
            call.hangup()
            theirs = await bob_events.wait_for("cancel")
            assert isinstance(theirs, CallCancel)
            assert (theirs.code, theirs.source, theirs.outcome) == (487, "remote", "cancelled")
            mine = await alice_events.wait_for("cancel")
            assert isinstance(mine, CallCancel)
            assert (mine.code, mine.source, mine.outcome) == (487, "local", "cancelled")
            await incoming.wait_ended()
            await call.wait_ended()
        assert bob.registered and alice.registered


async def test_calling_an_unregistered_user_is_rejected_by_the_server(
    kamailio: KamailioServer,
) -> None:
    async with two_accounts(kamailio) as (alice, alice_events, _bob, _bob_events):
        with trio.fail_after(20):
            await alice.connect("nobody")
            cancel = await alice_events.wait_for("cancel")
            assert isinstance(cancel, CallCancel)
            assert cancel.code == 404
            assert cancel.source == "remote"
