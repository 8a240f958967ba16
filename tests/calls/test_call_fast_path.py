"""Signalling-only calls stepped outside their task (``call_fast_path``): what must go out
at once does, without waking the account, and nothing overtakes what a call's task has
not handled yet. The far end is a sans-IO InviteSession; no server is involved."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import attrs
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
from kazoo_actors.call import Call
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.params import RegisterParams
from protocols.sip.actions import Send
from protocols.sip.invite_session import InviteSession
from protocols.sip.message import parse_message
from protocols.sip.respond_action import Respond
from protocols.sip.sdp_inactive import inactive_answer, inactive_offer


class Account:
    """Stands in for the account actor: counts wake-ups, keeps what reached on_incoming."""

    def __init__(self) -> None:
        self.wakes = 0
        self.incoming: list[Call] = []

    def wake(self) -> None:
        self.wakes += 1


@asynccontextmanager
async def signalling_router(
    on_incoming: Callable[[Call], Any] | Literal["collect"] | None = "collect",
) -> AsyncIterator[tuple[CallRouter, SipEndpoint, Account]]:
    """``on_incoming="collect"`` (the default) collects calls in ``Account.incoming``."""
    account = Account()
    if on_incoming == "collect":
        on_incoming = account.incoming.append
    router = CallRouter(
        account="dan@example.com#1",
        params=RegisterParams(
            ws_url="ws://127.0.0.1:9/",
            realm="example.com",
            private_identity="dan",
            public_identity="dan",
            password="secret",
            on_incoming=on_incoming,
        ),
        feed=EventFeed(),
        wake=account.wake,
        contact=lambda: "sip:dan@danhost.invalid;transport=ws",
        registered=lambda: True,
        rng=random.Random(5),
    )
    router.defaults.media = "none"
    # As the account actor does: calls belong to the nursery that owns this task.
    router.attach(trio.lowlevel.current_task().parent_nursery)
    try:
        yield router, SipEndpoint(account="dan"), account
    finally:
        await router.close()


def wire(message: Request | Response) -> Any:
    return parse_message(bytes(message))


def sent(router: CallRouter, endpoint: SipEndpoint) -> list[Any]:
    """What the calls queued, as the account would send it now (parsed again)."""
    return [wire(o.message) for o in router.outbound(endpoint) if isinstance(o, Send)]


def to_router(router: CallRouter, endpoint: SipEndpoint, message: Request | Response) -> None:
    """One message from the far end through the account's transaction layer, synchronously."""
    for output in endpoint.receive(wire(message)):
        if isinstance(output, ProvisionalResponse | FinalResponse):
            assert router.route(output)
        elif isinstance(output, IncomingRequest):
            assert router.claims(output.request)
            assert router.incoming(output.request, endpoint) == []


def far_end(invite: Request) -> InviteSession:
    far = InviteSession.incoming(
        invite,
        contact="sip:carol@carolhost.invalid;transport=ws",
        local_via=Via("WS", "carolhost.invalid"),
        rng=random.Random(9),
    )
    far.start()
    return far


def answer(far: InviteSession) -> Response:
    assert far.remote_sdp is not None
    (respond,) = [
        o for o in far.accept(inactive_answer(far.remote_sdp, 7)) if isinstance(o, Respond)
    ]
    return respond.response


async def test_an_idle_call_takes_its_answer_in_the_accounts_task() -> None:
    async with signalling_router() as (router, endpoint, account):
        call = await router.start_call("carol")
        # The INVITE was queued by connect itself, before the call's task ever ran.
        (invite,) = sent(router, endpoint)
        assert invite.method == "INVITE"
        await trio.testing.wait_all_tasks_blocked()
        far = far_end(invite)
        (ringing,) = [o.response for o in far.ring() if isinstance(o, Respond)]
        wakes = account.wakes
        to_router(router, endpoint, ringing)
        to_router(router, endpoint, answer(far))
        # No checkpoint since the 180 and the 200 came in: the ACK is already queued,
        # the account was not woken for it (it drains after handling what it received),
        # and with no on_accepted callback the answer was reported there and then.
        assert [m.method for m in sent(router, endpoint)] == ["ACK"]
        assert account.wakes == wakes
        assert call.answered
        keys = []
        with trio.fail_after(5):
            async for event in call.events():
                keys.append(event.key)
                if event.key == "accepted":
                    break
        assert keys == ["call_progress", "accepted"]
        await trio.testing.wait_all_tasks_blocked()
        # The program's hangup of the answered call sends the BYE from its own task.
        call.hangup()
        (bye,) = sent(router, endpoint)
        assert bye.method == "BYE"
        (ok,) = [o.response for o in far.receive_request(bye) if isinstance(o, Respond)]
        to_router(router, endpoint, ok)
        with trio.fail_after(5):
            await call.wait_ended()


async def test_sip_for_a_call_with_work_queued_waits_for_its_task() -> None:
    async with signalling_router() as (router, endpoint, _account):
        call = await router.start_call("carol")
        (invite,) = sent(router, endpoint)
        await trio.testing.wait_all_tasks_blocked()
        far = far_end(invite)
        call.send_dtmf("5")  # refused by the task (not answered yet), but queued first
        to_router(router, endpoint, answer(far))
        assert sent(router, endpoint) == []
        assert not call.answered
        await trio.testing.wait_all_tasks_blocked()
        assert [m.method for m in sent(router, endpoint)] == ["ACK"]
        assert call.answered


async def test_an_answer_with_a_callback_is_reported_by_the_calls_task() -> None:
    async with signalling_router() as (router, endpoint, _account):
        accepted: list[Any] = []
        router.params = attrs.evolve(router.params, on_accepted=accepted.append)
        call = await router.start_call("carol")
        (invite,) = sent(router, endpoint)
        await trio.testing.wait_all_tasks_blocked()
        to_router(router, endpoint, answer(far_end(invite)))
        assert [m.method for m in sent(router, endpoint)] == ["ACK"]
        assert accepted == [] and not call.answered
        await trio.testing.wait_all_tasks_blocked()
        assert [event.key for event in accepted] == ["accepted"]


def carol_calls_dan(seed: int = 4) -> tuple[InviteSession, Request]:
    caller = InviteSession.outgoing(
        target="sip:dan@example.com",
        local_address="<sip:carol@example.com>",
        contact="sip:carol@carolhost.invalid;transport=ws",
        local_via=Via("WS", "carolhost.invalid"),
        offer_sdp=inactive_offer(3),
        rng=random.Random(seed),
    )
    (send,) = caller.start()
    assert isinstance(send, Send) and isinstance(send.message, Request)
    return caller, send.message


async def test_without_on_incoming_the_invite_rings_before_the_call_task_runs() -> None:
    async with signalling_router(on_incoming=None) as (router, endpoint, account):
        caller, invite = carol_calls_dan()
        wakes = account.wakes
        to_router(router, endpoint, invite)
        (ringing,) = sent(router, endpoint)
        assert ringing.code == 180
        assert account.wakes == wakes
        await trio.testing.wait_all_tasks_blocked()
        (call,) = router.calls()
        call.accept()
        await trio.testing.wait_all_tasks_blocked()
        (ok,) = sent(router, endpoint)
        assert ok.code == 200 and b"a=inactive" in ok.body
        outputs = caller.receive_response(ok)
        (ack,) = [o.message for o in outputs if isinstance(o, Send)]
        to_router(router, endpoint, ack)
        await trio.testing.wait_all_tasks_blocked()  # the task reports the answer
        (bye,) = [o.message for o in caller.hangup() if isinstance(o, Send)]
        to_router(router, endpoint, bye)
        # The call's task was idle: the BYE's 200 went out from the account's task.
        assert [m.code for m in sent(router, endpoint)] == [200]
        with trio.fail_after(5):
            await call.wait_ended()
        assert [event.key async for event in call.events()] == [
            "incoming_call",
            "accepted",
            "hangup",
        ]


async def test_a_program_that_answers_in_on_incoming_sends_its_200_without_a_180() -> None:
    async with signalling_router(on_incoming=lambda call: call.accept()) as (
        router,
        endpoint,
        _account,
    ):
        _caller, invite = carol_calls_dan()
        to_router(router, endpoint, invite)
        assert sent(router, endpoint) == []
        await trio.testing.wait_all_tasks_blocked()
        assert [m.code for m in sent(router, endpoint)] == [200]


async def test_a_plain_on_incoming_that_does_not_answer_rings_when_it_returns() -> None:
    seen: list[Call] = []
    async with signalling_router(on_incoming=seen.append) as (router, endpoint, _account):
        _caller, invite = carol_calls_dan()
        to_router(router, endpoint, invite)
        assert sent(router, endpoint) == []
        await trio.testing.wait_all_tasks_blocked()
        assert len(seen) == 1
        assert [m.code for m in sent(router, endpoint)] == [180]


async def test_an_async_on_incoming_hears_of_the_call_after_it_rings() -> None:
    codes_seen_by_the_program: list[int] = []
    async with signalling_router() as (router, endpoint, _account):

        async def on_incoming(call: Call) -> None:
            codes_seen_by_the_program.extend(m.code for m in sent(router, endpoint))

        router.params = attrs.evolve(router.params, on_incoming=on_incoming)
        _caller, invite = carol_calls_dan()
        to_router(router, endpoint, invite)
        await trio.testing.wait_all_tasks_blocked()
        assert codes_seen_by_the_program == [180]


async def test_an_offer_without_audio_is_left_to_the_task_which_refuses_it() -> None:
    async with signalling_router() as (router, endpoint, account):
        caller = InviteSession.outgoing(
            target="sip:dan@example.com",
            local_address="<sip:carol@example.com>",
            contact="sip:carol@carolhost.invalid;transport=ws",
            local_via=Via("WS", "carolhost.invalid"),
            offer_sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
            rng=random.Random(6),
        )
        (send,) = caller.start()
        assert isinstance(send, Send) and isinstance(send.message, Request)
        to_router(router, endpoint, send.message)
        assert sent(router, endpoint) == []
        await trio.testing.wait_all_tasks_blocked()
        assert [m.code for m in sent(router, endpoint)] == [488]
        assert account.incoming == []
