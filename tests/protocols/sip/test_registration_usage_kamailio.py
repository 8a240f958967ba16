"""The sans-IO registration against a real Kamailio over a WebSocket (RFC 7118).

The test is the owner: it sends what the machine asks, feeds back what
Kamailio answers and fires the refresh timer by hand, so nothing waits for a
real expiry.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import trio
from sipmessage import Request, Response
from trio_websocket import WebSocketConnection, open_websocket_url

from kazoo_actors.lab.kamailio import KamailioServer
from protocols.sip import Send
from protocols.sip.digest import DigestCredentials
from protocols.sip.message import parse_message
from protocols.sip.registration import Registration, RegistrationOutput
from protocols.sip.registration_events import (
    Registered,
    RegistrationFailed,
    Unregistered,
)

pytestmark = pytest.mark.kamailio


async def exchange(
    ws: WebSocketConnection, registration: Registration, outputs: list[RegistrationOutput]
) -> list[object]:
    """Perform the machine's actions until it stops sending; return the events."""
    events: list[object] = []
    clock = trio.current_time()
    while True:
        sends = [o for o in outputs if isinstance(o, Send)]
        events += [
            o for o in outputs if isinstance(o, Registered | RegistrationFailed | Unregistered)
        ]
        if not sends:
            return events
        request = sends[0].message
        assert isinstance(request, Request)
        await ws.send_message(bytes(request).decode())
        branch = request.via[0].parameters.get("branch")
        with trio.fail_after(5):
            while True:  # a transaction would match on the branch; so does this loop
                frame = await ws.get_message()
                response = parse_message(frame.encode() if isinstance(frame, str) else frame)
                if (
                    isinstance(response, Response)
                    and response.code >= 200
                    and response.via[0].parameters.get("branch") == branch
                ):
                    break
        outputs = registration.receive_response(response, trio.current_time() - clock)


def account(server: KamailioServer, user: str, password: str, expires: int = 600) -> Registration:
    return Registration(
        aor=f"sip:{user}@{server.realm}",
        credentials=DigestCredentials(user, password),
        expires=expires,
        secure=False,
        rng=random.Random(user),
    )


async def test_register_refresh_and_unregister(kamailio: KamailioServer) -> None:
    registration = account(kamailio, "alice", kamailio.password, expires=60)
    async with open_websocket_url(kamailio.ws_url, subprotocols=["sip"]) as ws:
        outputs = registration.register(0.0)
        (event,) = await exchange(ws, registration, outputs)
        assert isinstance(event, Registered) and event.expires == 60
        assert 30 <= event.refresh_in < 55
        refresh = registration.timer_fired("refresh", 1.0)
        (event,) = await exchange(ws, registration, refresh)
        assert isinstance(event, Registered)
        assert registration.cseq >= 3
        assert await exchange(ws, registration, registration.unregister(2.0)) == [
            Unregistered(confirmed=True)
        ]


async def test_interval_too_brief_then_registered(
    kamailio_factory: Callable[..., KamailioServer],
) -> None:
    server = kamailio_factory(min_expires=30)
    registration = account(server, "bob", server.password, expires=10)
    async with open_websocket_url(server.ws_url, subprotocols=["sip"]) as ws:
        outputs = registration.register(0.0)
        (event,) = await exchange(ws, registration, outputs)
        assert isinstance(event, Registered) and event.expires == 30


async def test_wrong_password_fails_once_without_a_loop(kamailio: KamailioServer) -> None:
    registration = account(kamailio, "carol", "not-the-password")
    async with open_websocket_url(kamailio.ws_url, subprotocols=["sip"]) as ws:
        (event,) = await exchange(ws, registration, registration.register(0.0))
        assert isinstance(event, RegistrationFailed) and event.code == 401
        assert registration.cseq == 2


async def test_forbidden_user(kamailio: KamailioServer) -> None:
    registration = account(kamailio, "forbidden-dave", kamailio.password)
    async with open_websocket_url(kamailio.ws_url, subprotocols=["sip"]) as ws:
        (event,) = await exchange(ws, registration, registration.register(0.0))
        assert isinstance(event, RegistrationFailed) and event.code == 403
