"""The lab Kamailio, proven with real SIP traffic over WebSocket, UDP and the CLI.

The WebSocket client here is deliberately minimal raw text (with its own MD5 digest) so the
server config is checked independently of the protocol code it will later test.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from kazoo_actors.lab.config import MEMORY_MANAGERS, KamailioSettings
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.lab.notify_injection import (
    VIA_PLACEHOLDER,
    build_request,
    inject_notify,
    send_request,
)
from kazoo_actors.lab.ports import pick_free_ports

pytestmark = pytest.mark.kamailio

RECEIVE_SECONDS = 5.0
CLI_SECONDS = 30.0


@dataclass(frozen=True)
class SipText:
    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @classmethod
    def parse(cls, text: str) -> SipText:
        head, _, body = text.partition("\r\n\r\n")
        first, *lines = head.split("\r\n")
        headers = tuple(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines)
        )
        return cls(first, headers, body)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str:
        values = self.all(name)
        assert values, f"no {name} in {self.start_line!r}"
        return values[0]

    @property
    def code(self) -> int:
        assert self.start_line.startswith("SIP/2.0 "), self.start_line
        return int(self.start_line.split()[1])

    @property
    def method(self) -> str:
        return self.start_line.split()[0]

    @property
    def uri(self) -> str:
        return self.start_line.split()[1]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_answer(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    """An RFC 2617 MD5 answer with qop=auth, just enough for the lab config."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.removeprefix("Digest ")))
    nc, cnonce = "00000001", secrets.token_hex(8)
    ha1 = _md5(f"{user}:{params['realm']}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    response = _md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    answer = (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc={nc}, '
        f'cnonce="{cnonce}"'
    )
    if "opaque" in params:
        answer += f', opaque="{params["opaque"]}"'
    return answer


class WsUser:
    """One SIP user agent on its own WebSocket, speaking raw text."""

    def __init__(self, ws: WebSocketConnection, user: str, realm: str) -> None:
        self.ws = ws
        self.user = user
        self.realm = realm
        host = f"{secrets.token_hex(4)}.invalid"
        self.via_host = host
        self.contact = f"<sip:{user}@{host};transport=ws>"
        self.aor = f"sip:{user}@{realm}"
        self.cseq = 0

    async def send(self, text: str) -> None:
        await self.ws.send_message(text)

    async def receive(self) -> SipText:
        with trio.fail_after(RECEIVE_SECONDS):
            message = await self.ws.get_message()
        assert isinstance(message, str)
        return SipText.parse(message)

    async def receive_final(self) -> SipText:
        while True:
            message = await self.receive()
            if message.code >= 200:
                return message

    def request(
        self,
        method: str,
        uri: str,
        *,
        to: str,
        call_id: str,
        from_tag: str,
        cseq: int,
        headers: Sequence[str] = (),
        body: str = "",
        branch: str | None = None,
    ) -> str:
        branch = branch or f"z9hG4bK{secrets.token_hex(8)}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/WS {self.via_host};branch={branch}",
            "Max-Forwards: 70",
            f"From: <{self.aor}>;tag={from_tag}",
            f"To: {to}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            *([f"Contact: {self.contact}"] if method not in ("CANCEL", "ACK") else []),
            *headers,
            f"Content-Length: {len(body.encode())}",
        ]
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def response(self, request: SipText, code: int, reason: str, to_tag: str) -> str:
        to = request.header("To")
        if ";tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {via}" for via in request.all("Via") + request.all("v")]
        lines += [f"Record-Route: {route}" for route in request.all("Record-Route")]
        lines += [
            f"From: {request.header('From')}",
            f"To: {to}",
            f"Call-ID: {request.header('Call-ID')}",
            f"CSeq: {request.header('CSeq')}",
            f"Contact: {self.contact}",
            "Content-Length: 0",
        ]
        return "\r\n".join(lines) + "\r\n\r\n"

    async def register(
        self, password: str, *, expires: int = 60, answer_challenge: bool = True
    ) -> tuple[SipText, SipText | None]:
        """(first final response, final response to the authenticated retry or None)."""
        call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
        uri = f"sip:{self.realm}"

        def register(headers: Sequence[str] = ()) -> str:
            self.cseq += 1
            return self.request(
                "REGISTER",
                uri,
                to=f"<{self.aor}>",
                call_id=call_id,
                from_tag=tag,
                cseq=self.cseq,
                headers=[f"Expires: {expires}", *headers],
            )

        await self.send(register())
        first = await self.receive_final()
        if first.code != 401 or not answer_challenge:
            return first, None
        authorization = digest_answer(
            first.header("WWW-Authenticate"), "REGISTER", uri, self.user, password
        )
        await self.send(register([f"Authorization: {authorization}"]))
        return first, await self.receive_final()


def _sent_via(response: SipText) -> str:
    """Our own Via as we sent it: the proxy adds received and rport to it."""
    return re.sub(r";(received|rport)=[^;]*", "", response.header("Via"))


@asynccontextmanager
async def ws_user(server: KamailioServer, user: str) -> AsyncIterator[WsUser]:
    async with open_websocket_url(server.ws_url, subprotocols=["sip"]) as ws:
        assert ws.subprotocol == "sip"
        yield WsUser(ws, user, server.realm)


@asynccontextmanager
async def registered_user(server: KamailioServer, user: str) -> AsyncIterator[WsUser]:
    async with ws_user(server, user) as agent:
        _, final = await agent.register(server.password)
        assert final is not None and final.code == 200, final
        yield agent


async def test_register_is_challenged_with_qop_auth_then_accepted(
    kamailio: KamailioServer,
) -> None:
    async with ws_user(kamailio, "alice") as alice:
        challenge, accepted = await alice.register(kamailio.password, expires=30)
    assert challenge.code == 401
    www = challenge.header("WWW-Authenticate")
    assert 'qop="auth"' in www and f'realm="{kamailio.realm}"' in www
    assert accepted is not None and accepted.code == 200
    contact = accepted.header("Contact")
    assert alice.contact.strip("<>") in contact and "expires=30" in contact


@pytest.mark.parametrize("manager", MEMORY_MANAGERS)
async def test_every_memory_manager_runs_the_registrar(
    kamailio_factory: Callable[..., KamailioServer], manager: str
) -> None:
    server = kamailio_factory(memory_manager=manager)
    command = psutil.Process(server.pid).cmdline()
    assert command[command.index("-x") + 1] == manager
    async with ws_user(server, "alice") as alice:
        challenge, accepted = await alice.register(server.password, expires=30)
    assert challenge.code == 401
    assert accepted is not None and accepted.code == 200


def test_an_unknown_memory_manager_is_refused() -> None:
    with pytest.raises(ValueError, match="memory_manager"):
        KamailioSettings(memory_manager="sbrk")


async def test_unregister_removes_the_contact(kamailio: KamailioServer) -> None:
    async with ws_user(kamailio, "alice") as alice:
        _, registered = await alice.register(kamailio.password, expires=30)
        assert registered is not None and registered.code == 200
        _, unregistered = await alice.register(kamailio.password, expires=0)
        assert unregistered is not None and unregistered.code == 200
        assert not unregistered.all("Contact")
        code = await trio.to_thread.run_sync(
            lambda: inject_notify(
                kamailio.udp_address, "alice", kamailio.realm, event="x", content_type=None
            )
        )
    assert code == 404


async def test_wrong_password_is_challenged_again(kamailio: KamailioServer) -> None:
    async with ws_user(kamailio, "alice") as alice:
        challenge, refused = await alice.register("not-the-password")
    assert challenge.code == 401
    assert refused is not None and refused.code == 401


async def test_forbidden_users_get_403(kamailio: KamailioServer) -> None:
    async with ws_user(kamailio, "forbidden1") as agent:
        first, _ = await agent.register(kamailio.password)
    assert first.code == 403


async def test_expiry_below_the_configured_minimum_gets_423(
    kamailio_factory: Callable[..., KamailioServer],
) -> None:
    server = kamailio_factory(min_expires=120)
    async with ws_user(server, "alice") as alice:
        _, final = await alice.register(server.password, expires=30)
    assert final is not None and final.code == 423
    assert final.header("Min-Expires") == "120"


def _register_over(transport: str, server: KamailioServer, user: str) -> tuple[int, int, str]:
    """(challenge code, final code, final Contact) for a REGISTER with digest over UDP or TCP."""
    uri = f"sip:{user}@{server.realm}"

    def exchange(request: bytes) -> SipText:
        if transport == "udp":
            return SipText.parse(send_request(server.udp_address, request).raw.decode())
        with socket.create_connection(server.udp_address, timeout=RECEIVE_SECONDS) as stream:
            local = "{}:{}".format(*stream.getsockname())
            stream.sendall(request.replace(VIA_PLACEHOLDER.encode(), local.encode()))
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = stream.recv(65536)
                assert chunk, "connection closed before a response"
                data += chunk
        return SipText.parse(data.decode())

    def register(headers: list[tuple[str, str]]) -> bytes:
        request = build_request("REGISTER", user, server.realm, headers=headers, from_user=user)
        return request.replace(b"SIP/2.0/UDP", f"SIP/2.0/{transport.upper()}".encode())

    challenge = exchange(register([("Expires", "60")]))
    answer = digest_answer(
        challenge.header("WWW-Authenticate"), "REGISTER", uri, user, server.password
    )
    final = exchange(register([("Expires", "60"), ("Authorization", answer)]))
    return challenge.code, final.code, final.header("Contact")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_over_udp_and_tcp(kamailio: KamailioServer, transport: str) -> None:
    codes = await trio.to_thread.run_sync(lambda: _register_over(transport, kamailio, "dave"))
    assert codes[:2] == (401, 200)
    assert "sip:dave@127.0.0.1:" in codes[2]


async def test_options_keepalive_over_websocket_is_answered(kamailio: KamailioServer) -> None:
    async with ws_user(kamailio, "alice") as alice:
        options = alice.request(
            "OPTIONS",
            f"sip:{kamailio.realm}",
            to=f"<sip:{kamailio.realm}>",
            call_id=secrets.token_hex(8),
            from_tag=secrets.token_hex(4),
            cseq=1,
        )
        await alice.send(options)
        assert (await alice.receive_final()).code == 200


async def test_crlf_keepalive_over_websocket_gets_a_crlf_pong(kamailio: KamailioServer) -> None:
    """RFC 5626 s.4.4.1 double-CRLF ping: Kamailio answers a single CRLF in the same frame type."""
    async with ws_user(kamailio, "alice") as alice:
        for ping in ("\r\n\r\n", b"\r\n\r\n"):
            await alice.ws.send_message(ping)
            with trio.fail_after(RECEIVE_SECONDS):
                pong = await alice.ws.get_message()
            assert pong == ping[:2]


async def test_invite_and_in_dialog_requests_flow_between_websocket_users(
    kamailio: KamailioServer,
) -> None:
    async with (
        registered_user(kamailio, "alice") as alice,
        registered_user(kamailio, "bob") as bob,
    ):
        call_id, a_tag, b_tag = secrets.token_hex(8), secrets.token_hex(4), secrets.token_hex(4)

        def invite(cseq: int, headers: Sequence[str] = ()) -> str:
            return alice.request(
                "INVITE", bob.aor, to=f"<{bob.aor}>", call_id=call_id, from_tag=a_tag, cseq=cseq,
                headers=headers,
            )  # fmt: skip

        await alice.send(invite(1))
        challenge = await alice.receive_final()
        assert challenge.code == 407
        await alice.send(
            f"ACK {bob.aor} SIP/2.0\r\nVia: {_sent_via(challenge)}\r\n"
            f"Max-Forwards: 70\r\nFrom: {challenge.header('From')}\r\n"
            f"To: {challenge.header('To')}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        answer = digest_answer(
            challenge.header("Proxy-Authenticate"), "INVITE", bob.aor, "alice", kamailio.password
        )
        await alice.send(invite(2, [f"Proxy-Authorization: {answer}"]))

        incoming = await bob.receive()
        assert incoming.method == "INVITE"
        assert incoming.header("Call-ID") == call_id
        assert incoming.all("Record-Route"), "the proxy must stay in the dialog"
        await bob.send(bob.response(incoming, 180, "Ringing", b_tag))
        await bob.send(bob.response(incoming, 200, "OK", b_tag))

        codes: list[int] = []
        while not codes or codes[-1] < 200:
            response = await alice.receive()
            if response.code != 100:
                codes.append(response.code)
        assert codes == [180, 200]
        ok = response

        # ACK and BYE use the route set: they reach the far WebSocket only through the
        # contact aliases Kamailio put in the INVITE and in the 200.
        routes = [f"Route: {route}" for route in reversed(ok.all("Record-Route"))]
        ack = alice.request(
            "ACK", ok.header("Contact").strip("<>"), to=ok.header("To"), call_id=call_id,
            from_tag=a_tag, cseq=2, headers=routes,
        )  # fmt: skip
        await alice.send(ack)
        assert (await bob.receive()).method == "ACK"

        bye = bob.request(
            "BYE",
            incoming.header("Contact").strip("<>"),
            to=incoming.header("From"),
            call_id=call_id,
            from_tag=b_tag,
            cseq=1,
            headers=[f"Route: {route}" for route in incoming.all("Record-Route")],
        )
        await bob.send(bye)
        received_bye = await alice.receive()
        assert received_bye.method == "BYE"
        await alice.send(alice.response(received_bye, 200, "OK", a_tag))
        assert (await bob.receive_final()).code == 200


async def test_cancel_reaches_the_callee_and_both_sides_end_the_transaction(
    kamailio: KamailioServer,
) -> None:
    async with (
        registered_user(kamailio, "alice") as alice,
        registered_user(kamailio, "bob") as bob,
    ):
        call_id, a_tag, b_tag = secrets.token_hex(8), secrets.token_hex(4), secrets.token_hex(4)
        branch = f"z9hG4bK{secrets.token_hex(8)}"

        def to_bob(method: str, cseq: int, headers: Sequence[str] = ()) -> str:
            return alice.request(
                method, bob.aor, to=f"<{bob.aor}>", call_id=call_id, from_tag=a_tag, cseq=cseq,
                headers=headers, branch=branch,
            )  # fmt: skip

        await alice.send(to_bob("INVITE", 1))
        challenge = await alice.receive_final()
        assert challenge.code == 407
        answer = digest_answer(
            challenge.header("Proxy-Authenticate"), "INVITE", bob.aor, "alice", kamailio.password
        )
        branch = f"z9hG4bK{secrets.token_hex(8)}"
        await alice.send(to_bob("INVITE", 2, [f"Proxy-Authorization: {answer}"]))
        incoming = await bob.receive()
        assert incoming.method == "INVITE"
        await bob.send(bob.response(incoming, 180, "Ringing", b_tag))
        ringing = await alice.receive()
        while ringing.code == 100:
            ringing = await alice.receive()
        assert ringing.code == 180

        await alice.send(to_bob("CANCEL", 2))
        cancel = await bob.receive()
        assert cancel.method == "CANCEL" and cancel.header("Call-ID") == call_id
        await bob.send(bob.response(cancel, 200, "OK", b_tag))
        await bob.send(bob.response(incoming, 487, "Request Terminated", b_tag))

        answers: set[tuple[int, str]] = set()
        while len(answers) < 2:
            response = await alice.receive()
            answers.add((response.code, response.header("CSeq")))
        assert answers == {(200, "2 CANCEL"), (487, "2 INVITE")}
        ack = await bob.receive()
        assert ack.method == "ACK" and ack.header("CSeq") == "2 ACK"


async def test_injected_notify_reaches_the_websocket_client_and_its_answer_returns(
    kamailio: KamailioServer,
) -> None:
    body = (
        "Messages-Waiting: yes\r\nMessage-Account: sip:alice@kazoo.test\r\nVoice-Message: 2/8\r\n"
    )
    async with registered_user(kamailio, "alice") as alice, trio.open_nursery() as nursery:
        result: list[int] = []

        async def inject() -> None:
            result.append(
                await trio.to_thread.run_sync(
                    lambda: inject_notify(
                        kamailio.udp_address,
                        "alice",
                        kamailio.realm,
                        event="message-summary",
                        content_type="application/simple-message-summary",
                        body=body,
                    )
                )
            )

        nursery.start_soon(inject)
        notify = await alice.receive()
        assert notify.method == "NOTIFY"
        assert notify.header("Event") == "message-summary"
        assert notify.header("Content-Type") == "application/simple-message-summary"
        assert notify.body == body
        await alice.send(alice.response(notify, 200, "OK", secrets.token_hex(4)))
    assert result == [200]


async def test_an_injected_request_gets_the_clients_own_answer(kamailio: KamailioServer) -> None:
    """A BYE for a dialog the client never had is delivered, and the client's 481 comes back."""
    bye = build_request("BYE", "alice", kamailio.realm, to_tag=secrets.token_hex(4))
    async with registered_user(kamailio, "alice") as alice, trio.open_nursery() as nursery:
        result: list[int] = []

        async def inject() -> None:
            reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, bye))
            result.append(reply.code)

        nursery.start_soon(inject)
        received = await alice.receive()
        assert received.method == "BYE"
        await alice.send(alice.response(received, 481, "Call Does Not Exist", "x"))
    assert result == [481]


async def test_too_many_hops_are_refused(kamailio: KamailioServer) -> None:
    looping = build_request("NOTIFY", "alice", kamailio.realm, headers=[("Event", "x")])
    looping = looping.replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
    reply = await trio.to_thread.run_sync(lambda: send_request(kamailio.udp_address, looping))
    assert reply.code == 483


async def test_closing_the_websocket_removes_the_contact(kamailio: KamailioServer) -> None:
    async with registered_user(kamailio, "alice"):
        pass

    def notify() -> int:
        return inject_notify(
            kamailio.udp_address, "alice", kamailio.realm, event="check-sync", content_type=None
        )

    # Kamailio drops the contact once it has noticed the closed connection: poll briefly.
    codes: list[int] = []
    with trio.fail_after(5):
        while not codes or codes[-1] not in (404, 480):
            codes.append(await trio.to_thread.run_sync(notify))
            await trio.sleep(0.05)
    assert codes[-1] == 404


async def test_kill_and_restart_keep_the_same_ports(kamailio: KamailioServer) -> None:
    ws_url, udp_port = kamailio.ws_url, kamailio.udp_port
    async with registered_user(kamailio, "alice") as alice:
        kamailio.kill()
        assert not kamailio.running
        with pytest.raises(ConnectionClosed), trio.fail_after(RECEIVE_SECONDS):
            await alice.ws.get_message()
    kamailio.restart()
    assert (kamailio.ws_url, kamailio.udp_port) == (ws_url, udp_port)
    async with registered_user(kamailio, "alice"):
        pass


def test_start_and_stop_take_well_under_a_second() -> None:
    server = KamailioServer()
    started = time.perf_counter()
    server.start()
    start_seconds = time.perf_counter() - started
    pid = server.pid
    stopping = time.perf_counter()
    server.close()
    stop_seconds = time.perf_counter() - stopping
    print(f"kamailio start {start_seconds * 1000:.0f} ms, stop {stop_seconds * 1000:.0f} ms")
    assert start_seconds < 1.0 and stop_seconds < 1.0
    assert pid is not None and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kazoo_actors", "lab", *args],
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
        check=False,
    )


async def test_lab_up_and_down_through_the_cli(tmp_path: Path) -> None:
    state_file = str(tmp_path / "lab.json")
    (ws_port,) = pick_free_ports(1)
    up = _cli(
        "up", "--state-file", state_file, "--realm", "cli.test", "--password", "pw-1",
        "--ws-port", str(ws_port),
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    lab = json.loads(up.stdout)
    assert lab["ws_url"] == f"ws://127.0.0.1:{ws_port}"
    assert {"ws_url", "realm", "password", "udp_port", "tcp_port", "pid", "run_dir"} <= set(lab)
    assert (lab["realm"], lab["password"]) == ("cli.test", "pw-1")
    try:
        assert _cli("up", "--state-file", state_file).returncode == 1
        async with open_websocket_url(lab["ws_url"], subprotocols=["sip"]) as ws:
            _, final = await WsUser(ws, "carol", lab["realm"]).register(lab["password"])
        assert final is not None and final.code == 200
    finally:
        down = _cli("down", "--state-file", state_file)
    assert down.returncode == 0, down.stderr
    assert not _alive(lab["pid"])
    assert not Path(lab["run_dir"]).exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", lab["ws_port"]), timeout=1).close()
