"""A call actor behind its account's router, with a real transaction layer and real media,
and the far end played by a sans-IO InviteSession in the test (no server involved)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from sipmessage import Request, Response, Via

from kazoo_actors.actors.call_router import CallRouter
from kazoo_actors.actors.sip_endpoint import (
    FinalResponse,
    IncomingRequest,
    ProvisionalResponse,
    SipEndpoint,
)
from kazoo_actors.call import Call, CallError, NoCurrentCall
from kazoo_actors.call_events import CallCancel, CallHangup
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.params import RegisterParams
from media.options import MediaOptions
from media.session import MediaSession
from media.sources import Tone
from protocols.sip.actions import Send
from protocols.sip.invite_session import Answered, Ended, InviteSession, Outcome, Progress
from protocols.sip.message import parse_message
from protocols.sip.replies import response_to
from protocols.sip.transaction_requests import build_cancel

LOOPBACK = MediaOptions(host_addresses=["127.0.0.1"])


class Bob:
    """The router's account: what reached its callbacks and what it sent."""

    def __init__(self) -> None:
        self.incoming: list[Call] = []
        self.callbacks: list[Any] = []
        self.sent: list[Request | Response] = []

    def params(self) -> RegisterParams:
        return RegisterParams(
            ws_url="ws://127.0.0.1:9/",
            realm="example.com",
            private_identity="bob",
            public_identity="bob",
            password="secret",
            on_incoming=self.incoming.append,
            on_accepted=self.callbacks.append,
            on_hangup=self.callbacks.append,
            on_cancel=self.callbacks.append,
        )


@asynccontextmanager
async def bob_router(registered: bool = True) -> AsyncIterator[tuple[CallRouter, SipEndpoint, Bob]]:
    bob = Bob()
    router = CallRouter(
        account="bob@example.com#1",
        params=bob.params(),
        feed=EventFeed(),
        wake=lambda: None,
        contact=lambda: "sip:bob@bobhost.invalid;transport=ws",
        registered=lambda: registered,
        rng=random.Random(3),
    )
    router.defaults.media_options = LOOPBACK
    router.defaults.source = lambda: Tone(880)
    # As the account actor does: calls belong to the nursery that owns this task.
    router.attach(trio.lowlevel.current_task().parent_nursery)
    try:
        yield router, SipEndpoint(account="bob"), bob
    finally:
        await router.close()


def wire(message: Request | Response) -> Any:
    return parse_message(bytes(message))


def to_bob(router: CallRouter, endpoint: SipEndpoint, request: Request) -> None:
    for output in endpoint.receive(wire(request)):
        if isinstance(output, IncomingRequest):
            assert router.claims(output.request)
            assert router.incoming(output.request, endpoint) == []


async def from_bob(
    router: CallRouter, endpoint: SipEndpoint, until: Callable[[Any], bool], timeout: float = 5
) -> list[Any]:
    """What Bob's call sent (parsed again), up to and including a message ``until`` accepts."""
    found: list[Any] = []
    with trio.fail_after(timeout):
        while True:
            for output in router.outbound(endpoint):
                if isinstance(output, Send):
                    found.append(wire(output.message))
            if any(until(message) for message in found):
                return found
            await trio.sleep(0.01)


def code(number: int) -> Callable[[Any], bool]:
    return lambda message: isinstance(message, Response) and message.code == number


async def alice_calls(media: MediaSession, seed: int = 4) -> InviteSession:
    offer = await media.create_offer()
    return InviteSession.outgoing(
        target="sip:bob@example.com",
        local_address='"Alice Liddell" <sip:alice@example.com>',
        contact="sip:alice@alicehost.invalid;transport=ws",
        local_via=Via("WS", "alicehost.invalid"),
        offer_sdp=offer,
        rng=random.Random(seed),
    )


async def test_incoming_call_rings_answers_carries_media_and_ends_by_bye() -> None:
    async with (
        bob_router() as (router, endpoint, bob),
        MediaSession(LOOPBACK, source=Tone(440)) as alice_media,
    ):
        alice = await alice_calls(alice_media)
        alice.start()
        to_bob(router, endpoint, alice.invite)
        ringing = await from_bob(router, endpoint, code(180))
        assert [e for m in ringing for e in alice.receive_response(m)] == [
            Progress(code=180, reason="Ringing", sdp=None)
        ]
        with trio.fail_after(5):
            while not bob.incoming:
                await trio.sleep(0.01)
        call = bob.incoming[0]
        assert (call.caller_name, call.caller_number) == ("Alice Liddell", "alice")
        assert router.current() is call

        call.accept()
        sent = await from_bob(router, endpoint, code(200))
        outputs = [o for m in sent if isinstance(m, Response) for o in alice.receive_response(m)]
        (answered,) = [o for o in outputs if isinstance(o, Answered)]
        assert answered.sdp is not None
        await alice_media.accept_answer(answered.sdp)
        (ack,) = [o.message for o in outputs if isinstance(o, Send)]
        assert isinstance(ack, Request)
        to_bob(router, endpoint, ack)
        with trio.fail_after(5):
            await alice_media.wait_audio()
            while not call.answered:
                await trio.sleep(0.01)
            await trio.sleep(0.5)
        heard = alice_media.probe().frequency
        assert heard is not None and abs(heard - 880) < 30
        assert [c.key for c in bob.callbacks] == ["accepted"]

        (bye,) = [o.message for o in alice.bye() if isinstance(o, Send)]
        assert isinstance(bye, Request)
        to_bob(router, endpoint, bye)
        ok = await from_bob(router, endpoint, code(200))
        ends = [o for m in ok for o in alice.receive_response(m) if isinstance(o, Ended)]
        assert ends == [Ended(outcome=Outcome.HUNG_UP, code=200, reason="OK", by="local")]
        await call.wait_ended()
        keys = [event.key async for event in call.events()]
        assert keys == ["incoming_call", "accepted", "hangup"]
        hangup = bob.callbacks[-1]
        assert isinstance(hangup, CallHangup) and hangup.source == "remote"
        assert len(router) == 0
        with pytest.raises(NoCurrentCall):
            router.current()


async def test_cancelled_incoming_call_gets_200_and_487() -> None:
    async with bob_router() as (router, endpoint, bob), MediaSession(LOOPBACK) as alice_media:
        alice = await alice_calls(alice_media)
        alice.start()
        to_bob(router, endpoint, alice.invite)
        await from_bob(router, endpoint, code(180))
        to_bob(router, endpoint, build_cancel(alice.invite))
        sent = await from_bob(router, endpoint, code(487))
        assert sorted(m.code for m in sent if isinstance(m, Response)) == [200, 487]
        with trio.fail_after(5):
            await bob.incoming[0].wait_ended()
        (cancel,) = bob.callbacks
        assert isinstance(cancel, CallCancel)
        assert (cancel.code, cancel.message, cancel.source) == (487, "Request Terminated", "remote")


async def test_offer_that_cannot_be_negotiated_is_refused_with_488() -> None:
    async with (
        bob_router() as (router, endpoint, bob),
        MediaSession(MediaOptions(host_addresses=["127.0.0.1"], codecs="PCMA")) as alice_media,
    ):
        router.defaults.media_options = MediaOptions(host_addresses=["127.0.0.1"], codecs="opus")
        alice = await alice_calls(alice_media)
        alice.start()
        to_bob(router, endpoint, alice.invite)
        sent = await from_bob(router, endpoint, code(488))
        assert [m.code for m in sent if isinstance(m, Response)] == [488]
        assert bob.incoming == []
        with trio.fail_after(5):
            while len(router):
                await trio.sleep(0.01)


async def test_cancel_for_no_call_gets_481_and_other_requests_are_not_claimed() -> None:
    async with bob_router() as (router, endpoint, _bob), MediaSession(LOOPBACK) as alice_media:
        alice = await alice_calls(alice_media)
        cancel = wire(build_cancel(alice.invite))
        (incoming,) = [o for o in endpoint.receive(cancel) if isinstance(o, IncomingRequest)]
        assert router.claims(incoming.request)
        out = router.incoming(incoming.request, endpoint)
        (sent,) = [o.message for o in out if isinstance(o, Send)]
        assert isinstance(sent, Response) and sent.code == 481
        # A BYE for a Call-ID no call has stays with the account (which answers 481).
        bye = parse_message(bytes(build_cancel(alice.invite)).replace(b"CANCEL", b"BYE"))
        assert isinstance(bye, Request) and bye.method == "BYE"
        assert not router.claims(bye)


async def test_calls_need_a_registered_account() -> None:
    async with bob_router(registered=False) as (router, _endpoint, _bob):
        with pytest.raises(CallError, match="not registered"):
            await router.start_call("alice")


async def test_a_failing_call_costs_only_that_call() -> None:
    def broken_source() -> Tone:
        raise RuntimeError("no sound card")

    async with bob_router() as (router, endpoint, bob), MediaSession(LOOPBACK) as alice_media:
        router.defaults.source = broken_source
        alice = await alice_calls(alice_media)
        alice.start()
        to_bob(router, endpoint, alice.invite)
        sent = await from_bob(router, endpoint, code(500))
        assert [m.code for m in sent if isinstance(m, Response)] == [500]
        assert bob.incoming == []
        # The router (and so the account) goes on: the next call rings.
        router.defaults.source = lambda: Tone(880)
        async with MediaSession(LOOPBACK) as second_media:
            again = await alice_calls(second_media, seed=5)
            again.start()
            to_bob(router, endpoint, again.invite)
            await from_bob(router, endpoint, code(180))


def deliver_responses(router: CallRouter, endpoint: SipEndpoint, responses: list[Any]) -> None:
    """Responses from the far end through the account's transaction layer to the call."""
    for response in responses:
        for output in endpoint.receive(wire(response)):
            if isinstance(output, ProvisionalResponse | FinalResponse):
                assert router.route(output)


async def test_outgoing_call_plays_early_media_then_answers_and_is_cancelled_by_bye() -> None:
    async with (
        bob_router() as (router, endpoint, bob),
        MediaSession(LOOPBACK, source=Tone(660)) as far_media,
    ):
        call = await router.start_call("carol")
        (invite,) = await from_bob(router, endpoint, lambda m: getattr(m, "method", "") == "INVITE")
        assert str(invite.uri) == "sip:carol@example.com"
        far = InviteSession.incoming(
            invite,
            contact="sip:carol@carolhost.invalid;transport=ws",
            local_via=Via("WS", "carolhost.invalid"),
            rng=random.Random(8),
        )
        far.start()
        assert far.remote_sdp is not None
        answer = await far_media.create_answer(far.remote_sdp)
        early = response_to(
            far.invite, 183, to_tag="carol", body=answer.encode(), content_type="application/sdp"
        )
        early.headers.add("Contact", "<sip:carol@carolhost.invalid;transport=ws>")
        deliver_responses(router, endpoint, [early])
        with trio.fail_after(5):
            while call.media is None or call.media.first_audio_at is None:
                await trio.sleep(0.01)
            await trio.sleep(0.5)
        probe = call.probe()
        assert probe is not None and probe.frequency is not None
        assert abs(probe.frequency - 660) < 30
        assert not call.answered
        call.hangup()
        (cancel,) = await from_bob(router, endpoint, lambda m: getattr(m, "method", "") == "CANCEL")
        assert cancel.headers.get("Call-ID") == call.id
        terminated = response_to(far.invite, 487, to_tag="carol")
        deliver_responses(router, endpoint, [terminated])
        with trio.fail_after(5):
            await call.wait_ended()
        (cancelled,) = bob.callbacks
        assert isinstance(cancelled, CallCancel)
        assert (cancelled.code, cancelled.source, cancelled.outcome) == (487, "local", "cancelled")


async def test_calls_task_exists_only_from_the_first_call_to_the_account_end() -> None:
    """An account that never calls holds no task for calls; leaving the router ends its calls."""
    owner = trio.lowlevel.current_task().parent_nursery
    assert owner is not None
    before = set(owner.child_tasks)
    async with bob_router() as (router, endpoint, bob), MediaSession(LOOPBACK) as alice_media:
        await trio.testing.wait_all_tasks_blocked()
        assert set(owner.child_tasks) == before
        alice = await alice_calls(alice_media)
        alice.start()
        to_bob(router, endpoint, alice.invite)
        await from_bob(router, endpoint, code(180))
        hosts = set(owner.child_tasks) - before
        assert [t.name for t in hosts] == ["calls of bob@example.com#1"]
        call = bob.incoming[0]
    # The router's exit cancelled the ringing call and waited for its task.
    assert call.ended
    assert set(owner.child_tasks) == before
    keys = [event.key async for event in call.events()]
    assert keys[0] == "incoming_call"
