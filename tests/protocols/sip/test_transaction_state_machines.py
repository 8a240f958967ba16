"""Hypothesis state machines over each transaction kind.

Responses (duplicates included), request retransmissions, ACKs, TU responses,
transport errors and timer expiries arrive in any order; only running timers
fire, picked at random, and a virtual clock moves to each fired deadline. After
every run a fair schedule (earliest timer first, the peer or TU finally
answering) must bring the transaction to Terminated within its timer budget.

Invariants: nothing is sent and no timer started after Terminated, which is
emitted exactly once with no timer left running; retransmissions happen only on
unreliable transports, only before the timeout timer (B, F, H) would expire and
no more often than its schedule allows; a final response goes up once; every
ACK for a non-2xx has the RFC 3261 s.17.1.1.3 shape; exactly one outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sipmessage import Request, Response
from transaction_messages import make_request, make_response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.errors import LocalProtocolError
from protocols.sip.transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    RequestReceived,
    ResponseReceived,
    RetransmittedResponse,
    Terminated,
    TimedOut,
    TimerSettings,
    TransportFailed,
)

CODES = st.sampled_from([100, 180, 183, 200, 202, 302, 401, 404, 486, 503, 603])
TAGS = st.sampled_from(["fork-a", "fork-b", None])
T1S = st.sampled_from([0.5, 0.25, 1.0])
MAX_FAIR_STEPS = 100


def retransmission_budget(t1: float, cap: float | None) -> int:
    """How many retransmissions fit before 64*T1 with the doubling schedule."""
    count, elapsed, interval = 0, 0.0, t1
    while elapsed + interval < 64 * t1:
        elapsed += interval
        count += 1
        interval = 2 * interval if cap is None else min(2 * interval, cap)
    return count


class TransactionHarness(RuleBasedStateMachine):
    kind: str = ""
    retransmit_timer: str = ""
    timeout_timer: str = ""
    allowed_timers: frozenset[str] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.tx: Any = None
        self.timers = TimerSettings()
        self.reliable = False
        self.now = 0.0
        self.running: dict[str, float] = {}
        self.terminated_events = 0
        self.retransmissions: list[float] = []
        self.retransmit_started_at = 0.0
        self.failures = 0

    # -- bookkeeping shared by every kind -------------------------------------

    def absorb(self, outputs: list[Any], fired: str | None = None) -> None:
        for output in outputs:
            if self.terminated_events:
                assert not isinstance(output, Send | StartTimer), output
            if isinstance(output, StartTimer):
                assert output.name in self.allowed_timers
                assert output.seconds > 0
                if output.name == self.retransmit_timer:
                    assert not self.reliable
                self.running[output.name] = self.now + output.seconds
            elif isinstance(output, CancelTimer):
                assert output.name in self.running
                del self.running[output.name]
            elif isinstance(output, Terminated):
                self.terminated_events += 1
            elif isinstance(output, TimedOut | TransportFailed):
                self.failures += 1
            elif isinstance(output, Send):
                if fired == self.retransmit_timer:
                    self.retransmissions.append(self.now)
                self.check_send(output.message)
            else:
                self.check_event(output)
        if self.terminated_events:
            assert self.running == {}
            assert self.tx.terminated
        assert set(self.running) == set(self.tx.running_timers)

    def check_send(self, message: Request | Response) -> None:
        raise NotImplementedError

    def check_event(self, event: Any) -> None:
        raise NotImplementedError

    def fire(self, name: str) -> None:
        deadline = self.running.pop(name)
        self.now = max(self.now, deadline)
        self.absorb(self.tx.timer_fired(name), fired=name)

    # -- rules shared by every kind -------------------------------------------

    @precondition(lambda self: bool(self.running))
    @rule(data=st.data())
    def fire_a_running_timer(self, data: st.DataObject) -> None:
        self.fire(data.draw(st.sampled_from(sorted(self.running))))

    @precondition(lambda self: self.retransmit_timer in self.running)
    @rule()
    def fire_the_retransmission_timer(self) -> None:
        # Its own rule, so that long retransmission runs are explored often.
        self.fire(self.retransmit_timer)

    @rule(name=st.sampled_from("ABCDEFGHIJKLM"))
    def firing_a_stopped_timer_is_refused(self, name: str) -> None:
        if name not in self.running:
            with pytest.raises(LocalProtocolError):
                self.tx.timer_fired(name)

    @rule()
    def transport_error(self) -> None:
        self.absorb(self.tx.transport_error())

    @invariant()
    def terminated_once_and_quiet(self) -> None:
        assert self.terminated_events <= 1
        assert self.failures <= 1
        assert len(self.retransmissions) <= retransmission_budget(
            self.timers.t1, None if self.retransmit_timer == "A" else self.timers.t2
        )
        for moment in self.retransmissions:
            assert moment - self.retransmit_started_at < 64 * self.timers.t1

    def nudge(self) -> None:
        """Make the other side act when no timer is left to move things on."""
        raise NotImplementedError

    def teardown(self) -> None:
        if self.tx is None:
            return
        began = self.now
        for _ in range(MAX_FAIR_STEPS):
            if self.tx.terminated:
                break
            if self.running:
                self.fire(min(self.running, key=lambda name: self.running[name]))
            else:
                self.nudge()
        assert self.tx.terminated
        assert self.terminated_events == 1
        t = self.timers
        assert self.now - began <= t.timer_c + t.transaction_timeout + t.timer_d + t.t4
        self.check_outcome()

    def check_outcome(self) -> None:
        raise NotImplementedError


class ClientHarness(TransactionHarness):
    def __init__(self) -> None:
        super().__init__()
        self.request = make_request()
        self.last: Response | None = None
        self.finals: list[Response] = []
        self.acks: list[Request] = []
        self.built: dict[tuple[int, str | None], Response] = {}

    def begin(self, method: str, reliable: bool, t1: float) -> None:
        self.request = make_request(method)
        self.reliable = reliable
        self.timers = TimerSettings(t1=t1, t2=max(4.0, t1))
        kind = InviteClientTransaction if method == "INVITE" else NonInviteClientTransaction
        self.tx = kind(self.request, reliable=reliable, timers=self.timers)
        outputs = self.tx.start()
        assert outputs[0] == Send(message=self.request)
        self.absorb(outputs)

    def receive(self, response: Response) -> None:
        self.last = response
        self.absorb(self.tx.receive_response(response))

    @rule(code=CODES, tag=TAGS)
    def response_arrives(self, code: int, tag: str | None) -> None:
        # Equal responses are shared objects: building messages dominates the run time.
        key = (code, tag)
        if key not in self.built:
            self.built[key] = make_response(self.request, code, to_tag=tag)
        self.receive(self.built[key])

    @precondition(lambda self: self.last is not None)
    @rule()
    def duplicate_arrives(self) -> None:
        assert self.last is not None
        self.receive(self.last)

    def nudge(self) -> None:
        self.receive(make_response(self.request, 404))

    def check_event(self, event: Any) -> None:
        if isinstance(event, ResponseReceived):
            code = event.response.code
            assert event.response is self.last
            if code < 200:
                assert not self.finals, "provisional passed up after a final"
            else:
                self.finals.append(event.response)
        else:
            assert isinstance(event, RetransmittedResponse)
            assert self.kind == "INVITE" and 200 <= event.response.code < 300
            tags = [f.to_address.parameters.get("tag") for f in self.finals]
            assert event.response.to_address.parameters.get("tag") in tags

    def check_send(self, message: Request | Response) -> None:
        assert isinstance(message, Request)
        if message is self.request:
            return
        assert message.method == "ACK" and self.kind == "INVITE"
        final = self.finals[-1]
        assert final.code >= 300
        if self.acks:
            assert message is self.acks[0]
        self.acks.append(message)
        invite = self.request
        assert message.uri == invite.uri
        assert message.headers["Call-ID"] == invite.headers["Call-ID"]
        assert message.headers["From"] == invite.headers["From"]
        assert message.headers["To"] == final.headers["To"]
        assert str(message.cseq) == f"{invite.cseq.sequence} ACK"
        assert message.headers.getlist("Via") == invite.headers.getlist("Via")[:1]
        assert message.headers.getlist("Route") == invite.headers.getlist("Route")

    @invariant()
    def one_final_unless_forked_2xx(self) -> None:
        if self.kind != "INVITE":
            assert len(self.finals) <= 1
            return
        codes = [f.code for f in self.finals]
        assert len([c for c in codes if c >= 300]) <= 1
        if any(c >= 300 for c in codes):
            assert len(codes) == 1
        tags = [f.to_address.parameters.get("tag") for f in self.finals]
        assert len(tags) == len(set(tags))

    def check_outcome(self) -> None:
        assert min(len(self.finals), 1) + self.failures == 1


class InviteClientMachine(ClientHarness):
    kind = "INVITE"
    retransmit_timer = "A"
    timeout_timer = "B"
    allowed_timers = frozenset("ABCDM")

    @initialize(reliable=st.booleans(), t1=T1S)
    def start(self, reliable: bool, t1: float) -> None:
        self.begin("INVITE", reliable, t1)


class NonInviteClientMachine(ClientHarness):
    kind = "non-INVITE"
    retransmit_timer = "E"
    timeout_timer = "F"
    allowed_timers = frozenset("EFK")

    @initialize(reliable=st.booleans(), t1=T1S, method=st.sampled_from(["REGISTER", "BYE"]))
    def start(self, reliable: bool, t1: float, method: str) -> None:
        self.begin(method, reliable, t1)


class ServerHarness(TransactionHarness):
    def __init__(self) -> None:
        super().__init__()
        self.request = make_request()
        self.responses: list[Response] = []
        self.generated_trying: Response | None = None
        self.received = 0
        self.retransmitted = self.request

    def begin(self, method: str, reliable: bool, t1: float) -> None:
        self.request = make_request(method, branch="z9hG4bKpeer")
        self.reliable = reliable
        self.timers = TimerSettings(t1=t1, t2=max(4.0, t1))
        kind = InviteServerTransaction if method == "INVITE" else NonInviteServerTransaction
        self.tx = kind(self.request, reliable=reliable, timers=self.timers)
        self.absorb(self.tx.start())
        assert self.received == 1
        self.retransmitted = make_request(method, branch="z9hG4bKpeer")
        self.ack = make_request("ACK", branch="z9hG4bKpeer")

    def final(self) -> Response | None:
        finals = [r for r in self.responses if r.code >= 200]
        return finals[0] if finals else None

    def may_respond(self, code: int) -> bool:
        if self.tx.terminated:
            return False
        final = self.final()
        if final is None:
            return True
        return self.kind == "INVITE" and final.code < 300 and 200 <= code < 300

    @rule(code=CODES)
    def tu_responds(self, code: int) -> None:
        response = make_response(self.request, code, to_tag=None if code == 100 else "uas")
        if self.may_respond(code):
            if code >= 200 and self.final() is None:
                self.retransmit_started_at = self.now
            self.responses.append(response)
            self.absorb(self.tx.respond(response))
        else:
            with pytest.raises(LocalProtocolError):
                self.tx.respond(response)

    @rule()
    def request_retransmitted(self) -> None:
        self.absorb(self.tx.receive_request(self.retransmitted))

    def nudge(self) -> None:
        response = make_response(self.request, 486, to_tag="uas")
        self.responses.append(response)
        self.retransmit_started_at = self.now
        self.absorb(self.tx.respond(response))

    def check_event(self, event: Any) -> None:
        assert isinstance(event, RequestReceived)
        assert event.request is self.request
        self.received += 1

    def check_send(self, message: Request | Response) -> None:
        assert isinstance(message, Response)
        if message.code == 100 and not self.responses:
            assert self.kind == "INVITE"
            self.generated_trying = message
            return
        assert message is self.generated_trying or message in self.responses
        final = self.final()
        if final is not None and final.code >= 300:
            assert message is final

    def check_outcome(self) -> None:
        assert self.received == 1


class InviteServerMachine(ServerHarness):
    kind = "INVITE"
    retransmit_timer = "G"
    timeout_timer = "H"
    allowed_timers = frozenset({"G", "H", "I", "L", "Trying"})

    @initialize(reliable=st.booleans(), t1=T1S)
    def start(self, reliable: bool, t1: float) -> None:
        self.begin("INVITE", reliable, t1)

    @rule()
    def ack_arrives(self) -> None:
        self.absorb(self.tx.receive_request(self.ack))

    def nudge(self) -> None:
        final = self.final()
        if final is not None and final.code >= 300:
            self.absorb(self.tx.receive_request(self.ack))
        else:
            super().nudge()


class NonInviteServerMachine(ServerHarness):
    kind = "non-INVITE"
    retransmit_timer = "none"
    timeout_timer = "none"
    allowed_timers = frozenset({"J"})

    @initialize(reliable=st.booleans(), t1=T1S, method=st.sampled_from(["NOTIFY", "OPTIONS"]))
    def start(self, reliable: bool, t1: float, method: str) -> None:
        self.begin(method, reliable, t1)


# No per-example deadline: a shared CI machine must not turn slowness into failures.
# max_examples follows the active hypothesis profile (100 by default).
STATEFUL_SETTINGS = settings(deadline=None, stateful_step_count=40)

TestInviteClientTransaction = InviteClientMachine.TestCase
TestNonInviteClientTransaction = NonInviteClientMachine.TestCase
TestInviteServerTransaction = InviteServerMachine.TestCase
TestNonInviteServerTransaction = NonInviteServerMachine.TestCase
TestInviteClientTransaction.settings = STATEFUL_SETTINGS
TestNonInviteClientTransaction.settings = STATEFUL_SETTINGS
TestInviteServerTransaction.settings = STATEFUL_SETTINGS
TestNonInviteServerTransaction.settings = STATEFUL_SETTINGS
