"""``kazoo-actors demo``: the sans-IO registration walked through an in-memory exchange.

Nothing touches the network: a small in-process registrar (the Digest
verifier of protocols.sip plus a 200 that echoes the binding) answers every
REGISTER, each message crosses the "wire" as bytes through ``parse_message``,
and the simulated clock jumps straight to the refresh timer. It shows the
REGISTER / 401 / authenticated REGISTER / 200 exchange, the refresh, and the
un-REGISTER, with the events the engine would receive.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import TextIO

from sipmessage import Message, Request, Response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.digest import DigestCredentials
from protocols.sip.digest_verifier import DigestVerifier, Verdict
from protocols.sip.message import parse_message
from protocols.sip.registration import Registration, RegistrationOutput
from protocols.sip.registration_events import Registered, Unregistered
from protocols.sip.replies import response_to

DEMO_PASSWORD = "demo-password"


def add_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--user", default="alice")
    demo.add_argument("--realm", default="example.com")
    demo.add_argument("--expires", type=int, default=120, help="expiry the registrar grants")
    demo.add_argument(
        "--algorithm",
        default="SHA-256",
        choices=["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"],
    )
    demo.add_argument("--seed", type=int, default=None, help="seed for a repeatable run")
    demo.set_defaults(handler=run_demo)


class InMemoryRegistrar:
    """Challenges unauthenticated REGISTERs and binds authenticated ones."""

    def __init__(self, realm: str, user: str, algorithm: str, grant: int, rng: random.Random):
        self._verifier = DigestVerifier(realm, {user: DEMO_PASSWORD}, algorithm=algorithm, rng=rng)
        self._grant = grant

    def expire_nonces(self) -> None:
        self._verifier.expire_nonces()

    def answer(self, request: Request) -> Response:
        verdict = self._verifier.check(request)
        if verdict is not Verdict.ACCEPTED:
            return self._verifier.challenge(request, stale=verdict is Verdict.STALE, to_tag="reg")
        requested = int(request.headers.get("Expires") or "0")
        response = response_to(request, 200, to_tag="reg")
        if requested:
            contact = (request.headers.get("Contact") or "").rsplit(";expires=", 1)[0]
            response.headers.add("Contact", f"{contact};expires={min(requested, self._grant)}")
        return response


def _to_registrar(request: Request) -> Request:
    """The REGISTER as the registrar reads it off the wire (its own parser: sipmessage)."""
    parsed = Message.parse(bytes(request))
    assert isinstance(parsed, Request)
    return parsed


def _to_user_agent(response: Response) -> Response:
    """The response as our stack reads it off the wire: through ``parse_message``."""
    parsed = parse_message(bytes(response))
    assert isinstance(parsed, Response)
    return parsed


def _show(out: TextIO, arrow: str, message: Request | Response) -> None:
    text = bytes(message).decode("utf-8").rstrip("\r\n")
    out.write(f"{arrow}\n{text}\n\n")


def _describe(output: RegistrationOutput) -> str:
    if isinstance(output, StartTimer):
        return f"action: start timer {output.name!r} in {output.seconds:.1f} s"
    if isinstance(output, CancelTimer):
        return f"action: cancel timer {output.name!r}"
    return f"event:  {output!r}"


def run_demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    rng = random.Random(args.seed)
    aor = f"sip:{args.user}@{args.realm}"
    registrar = InMemoryRegistrar(args.realm, args.user, args.algorithm, args.expires, rng)
    registration = Registration(
        aor=aor,
        credentials=DigestCredentials(args.user, DEMO_PASSWORD),
        expires=600,
        rng=rng,
    )
    now = 0.0
    seen: list[RegistrationOutput] = []
    timer_due: float | None = None

    def drive(outputs: list[RegistrationOutput]) -> None:
        nonlocal now, timer_due
        pending = list(outputs)
        while pending:
            output = pending.pop(0)
            seen.append(output)
            if isinstance(output, Send):
                assert isinstance(output.message, Request)
                request = _to_registrar(output.message)
                _show(out, f"--> t={now:.2f}s  UA to registrar", request)
                response = _to_user_agent(registrar.answer(request))
                now += 0.02
                _show(out, f"<-- t={now:.2f}s  registrar to UA", response)
                pending.extend(registration.receive_response(response, now))
                continue
            out.write(_describe(output) + "\n\n")
            if isinstance(output, StartTimer):
                timer_due = now + output.seconds
            elif isinstance(output, CancelTimer):
                timer_due = None

    out.write(f"# registering {aor} (Call-ID {registration.call_id})\n\n")
    drive(registration.register(now))
    if timer_due is None:
        out.write("# registration did not succeed\n")
        return 1
    now = timer_due
    timer_due = None
    out.write(f"# t={now:.2f}s: the refresh timer fires\n\n")
    drive(registration.timer_fired("refresh", now))
    now += 5.0
    registrar.expire_nonces()
    out.write(f"# t={now:.2f}s: logging out (the registrar has meanwhile expired its nonces)\n\n")
    drive(registration.unregister(now))
    registered = sum(isinstance(o, Registered) for o in seen)
    unregistered = [o for o in seen if isinstance(o, Unregistered)]
    ok = registered == 2 and unregistered == [Unregistered(confirmed=True)]
    out.write(f"# {'done' if ok else 'unexpected outcome'}: {len(seen)} outputs\n")
    return 0 if ok else 1
