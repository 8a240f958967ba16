"""Hypothesis drives the registration usage with responses, timers and failures in any order.

Invariants: the refresh timer always fires strictly before the granted binding
lapses; every request carries the one Call-ID with a strictly larger CSeq; a
final response to the request in flight yields a new request or a final event;
the refresh timer runs exactly while registered.
"""

from __future__ import annotations

import random

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sipmessage import Request, Response

from protocols.sip import CancelTimer, LocalProtocolError, Send, StartTimer
from protocols.sip.digest import DigestCredentials
from protocols.sip.digest_verifier import DigestVerifier
from protocols.sip.registration import Registration, RegistrationOutput
from protocols.sip.registration_events import (
    Registered,
    RegistrationFailed,
    RegistrationState,
    Unregistered,
)
from protocols.sip.replies import response_to

FINAL_KINDS = (
    "ok",
    "ok-expires-header",
    "ok-bare",
    "ok-garbage",
    "challenge",
    "proxy-challenge",
    "stale",
    "wrong-password",
    "423",
    "423-junk",
    "403",
    "503",
    "500",
)


class RegistrationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        rng = random.Random(0)
        self.registration = Registration(
            aor="sip:alice@example.com",
            credentials=DigestCredentials("alice", "s3cret"),
            expires=300,
            rng=rng,
        )
        self.verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=rng)
        self.wrong = DigestVerifier("example.com", {"alice": "nope"}, rng=rng)
        self.proxy = DigestVerifier("proxy", {"alice": "s3cret"}, proxy=True, rng=rng)
        self.now = 0.0
        self.in_flight: Request | None = None
        self.sent_at = 0.0
        self.last_cseq = 0
        self.timer_at: float | None = None
        self.deadline: float | None = None

    # -- applying the machine's outputs as an owner would ------------------------

    def apply(self, outputs: list[RegistrationOutput]) -> list[object]:
        events: list[object] = []
        for output in outputs:
            if isinstance(output, Send):
                request = output.message
                assert isinstance(request, Request)
                assert request.headers.get("Call-ID") == self.registration.call_id
                assert request.cseq.sequence > self.last_cseq
                self.last_cseq = request.cseq.sequence
                self.in_flight = request
                self.sent_at = self.now
            elif isinstance(output, StartTimer):
                assert output.name == "refresh" and output.seconds >= 0
                self.timer_at = self.now + output.seconds
            elif isinstance(output, CancelTimer):
                self.timer_at = None
            else:
                events.append(output)
                event(type(output).__name__)
                if isinstance(output, Registered):
                    self.deadline = self.sent_at + output.expires
                    assert self.timer_at is not None
                    if self.now < self.deadline:
                        assert self.timer_at < self.deadline
                    else:  # the 200 came after the binding may have lapsed: refresh at once
                        assert self.timer_at == self.now
                        self.deadline = self.now + 1e-9
                else:
                    self.deadline = None
        assert len(events) <= 1
        return events

    # -- calls from the owner ------------------------------------------------------

    @rule()
    def register(self) -> None:
        if self.registration.state in (
            RegistrationState.REGISTERING,
            RegistrationState.UNREGISTERING,
        ):
            try:
                self.registration.register(self.now)
            except LocalProtocolError:
                return
            raise AssertionError("register accepted while a REGISTER is in flight")
        self.deadline = None
        self.apply(self.registration.register(self.now))

    @rule()
    def unregister(self) -> None:
        if self.registration.state is RegistrationState.UNREGISTERING:
            try:
                self.registration.unregister(self.now)
            except LocalProtocolError:
                return
            raise AssertionError("unregister accepted twice")
        self.deadline = None
        self.apply(self.registration.unregister(self.now))

    @rule(new_contact=st.booleans())
    def transport_reset(self, new_contact: bool) -> None:
        self.in_flight = None
        self.deadline = None
        self.apply(self.registration.transport_reset(self.now, new_contact=new_contact))
        assert self.registration.state is RegistrationState.IDLE

    @rule(seconds=st.floats(min_value=0, max_value=30))
    def time_passes(self, seconds: float) -> None:
        target = self.now + seconds
        if self.timer_at is not None and target >= self.timer_at:
            target = self.timer_at  # the owner fires timers when they are due
        self.now = target

    @precondition(lambda self: self.timer_at is not None)
    @rule()
    def refresh_timer_fires(self) -> None:
        assert self.timer_at is not None
        self.now = max(self.now, self.timer_at)
        assert self.deadline is not None and self.now < self.deadline
        self.timer_at = None
        self.deadline = None
        outputs = self.registration.timer_fired("refresh", self.now)
        assert any(isinstance(o, Send) for o in outputs)
        self.apply(outputs)

    @precondition(lambda self: self.timer_at is None)
    @rule()
    def stale_timer_fires(self) -> None:
        assert self.registration.timer_fired("refresh", self.now) == []

    @precondition(lambda self: self.in_flight is not None)
    @rule(code=st.sampled_from([408, 503]))
    def request_fails(self, code: int) -> None:
        self.in_flight = None
        events = self.apply(self.registration.request_failed("gone", self.now, code=code))
        assert len(events) == 1
        assert isinstance(events[0], RegistrationFailed | Unregistered)

    # -- responses -----------------------------------------------------------------

    def respond(self, request: Request, kind: str, expires: int) -> Response:
        if kind in ("challenge", "stale"):
            return self.verifier.challenge(request, stale=kind == "stale")
        if kind == "wrong-password":
            return self.wrong.challenge(request)
        if kind == "proxy-challenge":
            return self.proxy.challenge(request)
        if kind.startswith("ok"):
            response = response_to(request, 200, to_tag="r")
            contact = (request.headers.get("Contact") or "").rsplit(";expires=", 1)[0]
            if kind == "ok":
                response.headers.add("Contact", f"{contact};expires={expires}")
            elif kind == "ok-expires-header":
                response.headers.add("Expires", str(expires))
            elif kind == "ok-garbage":
                response.headers.add("Contact", "<<<not a contact")
                response.headers.add("Expires", "soon")
            return response
        code = int(kind[:3])
        response = response_to(request, code, to_tag="r")
        if kind == "423":
            response.headers.add("Min-Expires", str(expires))
        elif kind == "423-junk":
            response.headers.add("Min-Expires", "later")
        elif code == 503:
            response.headers.add("Retry-After", str(expires))
        return response

    @precondition(lambda self: self.in_flight is not None)
    @rule(
        kind=st.sampled_from(FINAL_KINDS),
        expires=st.integers(min_value=0, max_value=7200),
        lateness=st.floats(min_value=0, max_value=0.99),
    )
    def final_response(self, kind: str, expires: int, lateness: float) -> None:
        assert self.in_flight is not None
        request = self.in_flight
        requested = int(request.headers.get("Expires") or "0")
        granted = {"ok": expires, "ok-expires-header": expires}.get(kind, requested)
        # The 200 reaches us before the binding it grants could have lapsed.
        self.now += lateness * min(2.0, granted or 2.0)
        self.in_flight = None
        events = self.apply(
            self.registration.receive_response(self.respond(request, kind, expires), self.now)
        )
        assert (self.in_flight is not None) != bool(events)

    @precondition(lambda self: self.in_flight is not None)
    @rule(stray=st.sampled_from(["provisional", "old-cseq", "other-method"]))
    def ignored_response(self, stray: str) -> None:
        assert self.in_flight is not None
        request = self.in_flight
        response = response_to(request, 100 if stray == "provisional" else 200)
        if stray == "old-cseq":
            response.headers.set("CSeq", f"{request.cseq.sequence - 1} REGISTER")
        elif stray == "other-method":
            response.headers.set("CSeq", f"{request.cseq.sequence} INVITE")
        state = self.registration.state
        assert self.registration.receive_response(response, self.now) == []
        assert self.registration.state is state

    @invariant()
    def refresh_timer_runs_exactly_while_registered(self) -> None:
        registered = self.registration.state is RegistrationState.REGISTERED
        assert registered == (self.timer_at is not None)
        if registered:
            assert self.deadline is not None and self.timer_at is not None
            assert self.timer_at < self.deadline


RegistrationMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestRegistrationMachine = RegistrationMachine.TestCase
