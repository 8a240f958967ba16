"""The lab's voicemail notifier behind a real Kamailio, driven by a WebSocket subscriber.

The subscriber is ``protocols.sip.subscription.Subscription`` on a raw trio-websocket
connection: every SUBSCRIBE, NOTIFY and response crosses Kamailio, so the relay to the
notifier, the record-routed dialog and the way back to the right WebSocket are all real.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from sipmessage import URI, Request, Response
from trio_websocket import WebSocketConnection, open_websocket_url

from kazoo_actors.lab.config import KamailioSettings, render_config
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.message_summary_body import CONTENT_TYPE, VoicemailCounts
from kazoo_actors.lab.mwi_notifier import MwiNotifier
from kazoo_actors.lab.notify_injection import VIA_PLACEHOLDER, build_request, send_request
from kazoo_actors.lab.ports import LOOPBACK
from protocols.sip import (
    DigestClient,
    DigestCredentials,
    Send,
    SipRequest,
    SipResponse,
    parse_message,
    response_to,
)
from protocols.sip.message_summary import MessageCounts, parse_message_summary
from protocols.sip.subscription import (
    REFRESH_TIMER,
    Subscribed,
    Subscription,
    SubscriptionEnded,
    SubscriptionOutput,
)

pytestmark = pytest.mark.kamailio

STEP_SECONDS = 3.0


class WsSubscriber:
    """A registered WebSocket user agent that subscribes to its own message-summary."""

    def __init__(
        self, ws: WebSocketConnection, user: str, server: KamailioServer, expires: int
    ) -> None:
        self.ws = ws
        self.user = user
        self.server = server
        self.aor = f"sip:{user}@{server.realm}"
        self.via_host = f"{secrets.token_hex(4)}.invalid"
        self.contact = f"sip:{user}@{self.via_host};transport=ws"
        self.subscription = Subscription(
            aor=self.aor,
            contact=self.contact,
            digest=DigestClient(DigestCredentials(user, server.password)),
            expires=expires,
            secure=False,
            via_host=self.via_host,
        )
        self.responses: list[SipResponse] = []
        self.notifies: list[SipRequest] = []
        self.events: list[SubscriptionOutput] = []
        self.call_id = ""

    async def send(self, message: Request | Response) -> None:
        await self.ws.send_message(bytes(message).decode())

    async def receive(self) -> SipRequest | SipResponse:
        message = await self.ws.get_message()
        return parse_message(message.encode() if isinstance(message, str) else message)

    async def register(self) -> None:
        digest = DigestClient(DigestCredentials(self.user, self.server.password))
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        for cseq in (1, 2):
            request = Request("REGISTER", URI.parse(f"sip:{self.server.realm}"))
            for name, value in (
                ("Via", f"SIP/2.0/WS {self.via_host};branch=z9hG4bK{secrets.token_hex(8)}"),
                ("Max-Forwards", "70"),
                ("From", f"<{self.aor}>;tag={tag}"),
                ("To", f"<{self.aor}>"),
                ("Call-ID", call_id),
                ("CSeq", f"{cseq} REGISTER"),
                ("Contact", f"<{self.contact}>"),
                ("Expires", "60"),
                ("Content-Length", "0"),
            ):
                request.headers.add(name, value)
            digest.authorize(request)
            await self.send(request)
            response = await self.receive()
            assert isinstance(response, SipResponse)
            if response.code == 200:
                return
            assert response.code == 401, response.code
            digest.handle_challenge(request, response)
        raise AssertionError("REGISTER was not accepted after one challenge")

    async def perform(self, outputs: list[SubscriptionOutput]) -> None:
        for output in outputs:
            if isinstance(output, Send):
                if not self.call_id:
                    self.call_id = output.message.headers.get("Call-ID") or ""
                await self.send(output.message)
            elif isinstance(output, Subscribed | SubscriptionEnded):
                self.events.append(output)

    async def pump_until(self, condition: Callable[[], bool]) -> None:
        """Handle what arrives (answering NOTIFYs) until ``condition()`` holds."""
        while not condition():
            message = await self.receive()
            now = trio.current_time()
            if isinstance(message, SipResponse):
                self.responses.append(message)
                await self.perform(self.subscription.receive_response(message, now))
                continue
            assert message.method == "NOTIFY", message.method
            self.notifies.append(message)
            if self.subscription.matches(message):
                code, outputs = self.subscription.receive_notify(message, now)
                await self.send(response_to(message, code))
                await self.perform(outputs)
            else:
                # The final NOTIFY after an unsubscribe: the usage already forgot the dialog.
                known = message.headers.get("Call-ID") == self.call_id
                await self.send(response_to(message, 200 if known else 481))


def counts_in(notify: SipRequest) -> MessageCounts | None:
    assert notify.headers.get("Content-Type") == CONTENT_TYPE
    return parse_message_summary(notify.body).voice


@asynccontextmanager
async def subscriber(
    server: KamailioServer, user: str, *, expires: int = 300
) -> AsyncIterator[WsSubscriber]:
    async with open_websocket_url(server.ws_url, subprotocols=["sip"]) as ws:
        agent = WsSubscriber(ws, user, server, expires)
        with trio.fail_after(STEP_SECONDS):
            await agent.register()
        yield agent


async def subscribe_and_wait(agent: WsSubscriber) -> None:
    """SUBSCRIBE (answering Kamailio's challenge) until accepted and first notified."""
    await agent.perform(agent.subscription.subscribe(trio.current_time()))
    with trio.fail_after(STEP_SECONDS):
        await agent.pump_until(lambda: bool(agent.events) and bool(agent.notifies))


async def test_subscription_lifecycle_through_kamailio(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    notifier = mwi_notifier
    notifier.set_counts("alice", VoicemailCounts(new=2, old=5))
    async with subscriber(kamailio_with_mwi, "alice") as alice:
        # SUBSCRIBE -> 407 -> authenticated SUBSCRIBE -> 200, then the initial NOTIFY.
        await subscribe_and_wait(alice)
        assert [r.code for r in alice.responses] == [407, 200]
        (subscribed,) = alice.events
        assert isinstance(subscribed, Subscribed) and subscribed.expires == 300
        (first,) = alice.notifies
        assert (first.headers.get("Subscription-State") or "").startswith("active;expires=")
        assert counts_in(first) == MessageCounts(new=2, old=5)
        # The aliased WebSocket contact was resolved back to this very connection.
        assert first.uri.host == alice.via_host
        (served,) = notifier.subscriptions("alice")
        assert served.expires == 300
        with trio.fail_after(STEP_SECONDS):
            await notifier.wait_for(lambda: len(notifier.responses("NOTIFY")) >= 1)
        assert notifier.responses("NOTIFY")[0].code == 200
        subscribes = notifier.requests("SUBSCRIBE")
        # Only the authenticated one got through, its credentials consumed by Kamailio.
        assert len(subscribes) == 1 and subscribes[0].headers.get("Proxy-Authorization") is None
        assert subscribes[0].record_route, "Kamailio must stay in the dialog"

        # A NOTIFY with new counts, in the same dialog.
        with trio.fail_after(STEP_SECONDS):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(alice.pump_until, lambda: len(alice.notifies) == 2)
                assert await notifier.notify("alice", new=3, old=1, urgent_new=1) == [200]
        second = alice.notifies[1]
        assert counts_in(second) == MessageCounts(new=3, old=1, urgent_new=1)
        assert second.cseq.sequence == first.cseq.sequence + 1
        assert second.headers.get("Call-ID") == first.headers.get("Call-ID")

        # A refresh inside the dialog reaches the notifier through Kamailio's route set.
        await alice.perform(alice.subscription.timer_fired(REFRESH_TIMER, trio.current_time()))
        with trio.fail_after(STEP_SECONDS):
            await alice.pump_until(lambda: len(alice.events) == 2 and len(alice.notifies) == 3)
        assert alice.responses[-1].code == 200
        refresh = notifier.requests("SUBSCRIBE")[-1]
        assert refresh.to_address.parameters.get("tag") == served.dialog.local_tag
        assert refresh.uri.host == notifier.address[0] and refresh.uri.port == notifier.address[1]
        assert counts_in(alice.notifies[2]) == MessageCounts(new=3, old=1, urgent_new=1)

        # Unsubscribe: 200, and a final NOTIFY saying the subscription is over.
        await alice.perform(alice.subscription.unsubscribe(trio.current_time()))
        with trio.fail_after(STEP_SECONDS):
            await alice.pump_until(lambda: len(alice.notifies) == 4)
        assert alice.responses[-1].code == 200
        assert alice.responses[-1].headers.get("Expires") == "0"
        assert isinstance(alice.events[-1], SubscriptionEnded)
        final = alice.notifies[3]
        assert (final.headers.get("Subscription-State") or "").startswith("terminated")
        assert notifier.subscriptions("alice") == []
        with trio.fail_after(STEP_SECONDS):
            await notifier.wait_for(lambda: len(notifier.responses("NOTIFY")) >= 4)
        assert [r.code for r in notifier.responses("NOTIFY")] == [200, 200, 200, 200]


async def test_notifier_ends_a_subscription_with_a_reason(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    async with subscriber(kamailio_with_mwi, "bob") as bob:
        await subscribe_and_wait(bob)
        with trio.fail_after(STEP_SECONDS):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(bob.pump_until, lambda: len(bob.notifies) == 2)
                codes = await mwi_notifier.terminate("bob", "noresource", retry_after=30)
    assert codes == [200]
    assert bob.notifies[1].headers.get("Subscription-State") == (
        "terminated;reason=noresource;retry-after=30"
    )
    ended = bob.events[-1]
    assert isinstance(ended, SubscriptionEnded)
    assert (ended.reason, ended.retry_after, ended.may_resubscribe) == ("noresource", 30, False)
    assert mwi_notifier.subscriptions("bob") == []


async def test_a_subscription_not_refreshed_times_out(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    async with subscriber(kamailio_with_mwi, "carol", expires=1) as carol:
        await subscribe_and_wait(carol)
        assert (carol.notifies[0].headers.get("Subscription-State") or "") == "active;expires=1"
        # The usage's refresh timer is never run here, so the subscription lapses.
        with trio.fail_after(STEP_SECONDS):
            await carol.pump_until(lambda: len(carol.notifies) == 2)
    assert carol.notifies[1].headers.get("Subscription-State") == "terminated;reason=timeout"
    ended = carol.events[-1]
    assert isinstance(ended, SubscriptionEnded) and ended.may_resubscribe
    assert mwi_notifier.subscriptions() == []


class UdpPeer:
    """A subscriber talking to the notifier directly, with no proxy and no route set."""

    def __init__(self, sock: trio.socket.SocketType, notifier: MwiNotifier) -> None:
        self.sock = sock
        self.notifier = notifier
        self.local = "{}:{}".format(*sock.getsockname())

    async def send(self, data: bytes) -> None:
        await self.sock.sendto(
            data.replace(VIA_PLACEHOLDER.encode(), self.local.encode()), self.notifier.address
        )

    async def receive(self) -> tuple[bytes, SipRequest | SipResponse]:
        with trio.fail_after(STEP_SECONDS):
            data, _ = await self.sock.recvfrom(65535)
        return data, parse_message(data)


@asynccontextmanager
async def udp_peer(notifier: MwiNotifier) -> AsyncIterator[UdpPeer]:
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
        await sock.bind((LOOPBACK, 0))
        yield UdpPeer(sock, notifier)


async def test_notifier_caps_expiry_and_retransmits_its_notify(
    mwi_notifier: MwiNotifier,
) -> None:
    async with udp_peer(mwi_notifier) as peer:
        subscribe = build_request(
            "SUBSCRIBE",
            "dave",
            "kazoo.test",
            from_user="dave",
            headers=[("Event", "message-summary"), ("Expires", "7200")],
        )
        await peer.send(subscribe)
        raw_ok, ok = await peer.receive()
        assert isinstance(ok, SipResponse) and ok.code == 200
        assert ok.headers.get("Expires") == "3600"
        assert ok.headers.get("Contact") == mwi_notifier.contact
        # A retransmitted SUBSCRIBE gets the very same response, not a second dialog.
        await peer.send(subscribe)
        notify_or_ok = [await peer.receive(), await peer.receive()]
        assert raw_ok in [data for data, _ in notify_or_ok]
        assert len(mwi_notifier.subscriptions("dave")) == 1
        (notify,) = [m for _, m in notify_or_ok if isinstance(m, SipRequest)]
        assert notify.headers.get("Subscription-State") == "active;expires=3600"
        assert counts_in(notify) == MessageCounts(new=0, old=0)
        # Left unanswered, the NOTIFY comes again (UDP client transaction, Timer E).
        _, again = await peer.receive()
        assert isinstance(again, SipRequest) and again.method == "NOTIFY"
        assert again.headers.get("Via") == notify.headers.get("Via")
        await peer.send(bytes(response_to(again, 200)))
        with trio.fail_after(STEP_SECONDS):
            await mwi_notifier.wait_for(lambda: bool(mwi_notifier.responses("NOTIFY")))


async def test_notifier_refuses_other_packages_and_unknown_dialogs(
    mwi_notifier: MwiNotifier,
) -> None:
    async with udp_peer(mwi_notifier) as peer:
        await peer.send(
            build_request("SUBSCRIBE", "erin", "kazoo.test", headers=[("Event", "presence")])
        )
        _, refused = await peer.receive()
        assert isinstance(refused, SipResponse) and refused.code == 489
        assert refused.headers.get("Allow-Events") == "message-summary"
        await peer.send(
            build_request(
                "SUBSCRIBE",
                "erin",
                "kazoo.test",
                to_tag="nobody",
                headers=[("Event", "message-summary")],
            )
        )
        _, unknown = await peer.receive()
        assert isinstance(unknown, SipResponse) and unknown.code == 481
        await peer.send(build_request("OPTIONS", "erin", "kazoo.test"))
        _, options = await peer.receive()
        assert isinstance(options, SipResponse) and options.code == 405
    assert mwi_notifier.subscriptions() == []


def test_config_relays_message_summary_only_with_a_notifier(tmp_path: Path) -> None:
    plain = render_config(KamailioSettings(), sip_port=5060, ws_port=8080, run_dir=tmp_path)
    assert "#!define WITH_MWI" not in plain
    relaying = render_config(
        KamailioSettings(mwi_server="127.0.0.1:5099"),
        sip_port=5060,
        ws_port=8080,
        run_dir=tmp_path,
    )
    assert "#!define WITH_MWI" in relaying
    assert '#!define MWI_DESTINATION "sip:127.0.0.1:5099;transport=udp"' in relaying
    for bad in ("127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "sip:127.0.0.1:5060", "a b:1"):
        with pytest.raises(ValueError, match="mwi_server"):
            KamailioSettings(mwi_server=bad)


async def test_each_websocket_gets_the_notify_of_its_own_subscription(
    kamailio_with_mwi: KamailioServer, mwi_notifier: MwiNotifier
) -> None:
    """Two devices of one user, each on its own WebSocket: Kamailio's alias picks the socket."""
    async with (
        subscriber(kamailio_with_mwi, "frank") as desk,
        subscriber(kamailio_with_mwi, "frank") as phone,
    ):
        await subscribe_and_wait(desk)
        await subscribe_and_wait(phone)
        assert len(mwi_notifier.subscriptions("frank")) == 2
        with trio.fail_after(STEP_SECONDS):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(desk.pump_until, lambda: len(desk.notifies) == 2)
                nursery.start_soon(phone.pump_until, lambda: len(phone.notifies) == 2)
                assert await mwi_notifier.notify("frank", new=1) == [200, 200]
        for device in (desk, phone):
            assert {n.headers.get("Call-ID") for n in device.notifies} == {device.call_id}
            assert counts_in(device.notifies[1]) == MessageCounts(new=1, old=0)
    assert desk.call_id != phone.call_id


async def test_a_malformed_datagram_is_recorded_and_survived(mwi_notifier: MwiNotifier) -> None:
    async with udp_peer(mwi_notifier) as peer:
        garbled = build_request(
            "SUBSCRIBE",
            "gina",
            "kazoo.test",
            headers=[("Event", "message-summary"), ("Expires", "soon")],
        )
        await peer.send(garbled)
        await peer.send(
            build_request("SUBSCRIBE", "gina", "kazoo.test", headers=[("Event", "message-summary")])
        )
        _, response = await peer.receive()
    assert isinstance(response, SipResponse) and response.code == 200
    assert response.headers.get("Expires") == "3600"
    assert mwi_notifier.received[0].message is None
    assert b"Expires: soon" in mwi_notifier.received[0].raw
    assert len(mwi_notifier.subscriptions("gina")) == 1


def test_the_notifier_runs_in_the_foreground_for_a_hand_made_lab() -> None:
    command = [sys.executable, "-m", "kazoo_actors.lab.mwi_notifier_main", "--new", "4"]
    with subprocess.Popen(
        [*command, "--seconds", "20"], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            server = json.loads(process.stdout.readline())["mwi_server"]
            host, port = server.split(":")
            subscribe = build_request(
                "SUBSCRIBE", "hank", "kazoo.test", headers=[("Event", "message-summary")]
            )
            reply = send_request((host, int(port)), subscribe, timeout=STEP_SECONDS)
            assert (reply.code, reply.header("Expires")) == (200, "3600")
            line = json.loads(process.stdout.readline())
            assert (line["user"], line["expires"], line["in_dialog"]) == ("hank", None, False)
        finally:
            process.terminate()
    assert process.returncode in (0, -signal.SIGTERM)
