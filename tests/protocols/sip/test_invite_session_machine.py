"""RuleBasedStateMachine over both roles of the INVITE usage: any order of responses,
requests, timers and local calls.

Invariants: at most one final outcome (``Ended``), and one once the session is
terminated; every 2xx is ACKed; no request but the ACK/BYE for a stray 2xx after
the end; CANCEL only before any final response, and at most once; a UAS gives
exactly one final response to the INVITE (2xx retransmissions aside).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from invite_pair import ANSWER, OFFER, make_callee, make_caller, wire
from sipmessage import Request, Response, Via

from protocols.sip.actions import Send
from protocols.sip.dialog import Dialog
from protocols.sip.digest import DigestClient, DigestCredentials
from protocols.sip.digest_verifier import DigestVerifier
from protocols.sip.errors import LocalProtocolError
from protocols.sip.invite_session import Ended, InviteSession, SessionState
from protocols.sip.replies import response_to
from protocols.sip.respond_action import Respond

FAR_VIA = Via("WS", "far.invalid")


def _response(invite: Request, code: int, tag: str | None, sdp: bool = False) -> Response:
    body = ANSWER.encode() if sdp else b""
    response = response_to(
        invite, code, to_tag=tag, body=body, content_type="application/sdp" if sdp else None
    )
    if tag and code < 300:
        response.headers.add("Contact", f"<sip:bob@{tag}.invalid;transport=ws>")
    parsed = wire(response)
    assert isinstance(parsed, Response)
    return parsed


class CallerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.verifier = DigestVerifier("example.com", {"alice": "pw"}, proxy=True)
        digest = DigestClient(DigestCredentials("alice", "pw"), random.Random(5))
        self.session = make_caller(digest=digest)
        self.ended = 0
        self.final_seen = False
        self.cancels = 0
        self.byes: list[Request] = []
        self.mirrors: dict[str, Dialog] = {}
        self.apply(self.session.start())

    def apply(self, outputs: Sequence[object], *, two_xx_tag: str | None = None) -> None:
        acked = False
        for output in outputs:
            if isinstance(output, Ended):
                self.ended += 1
            if isinstance(output, Send) and isinstance(output.message, Request):
                request = output.message
                if request.method == "CANCEL":
                    assert not self.final_seen, "CANCEL after a final response"
                    self.cancels += 1
                if request.method == "ACK":
                    assert request.to_address.parameters.get("tag") == two_xx_tag
                    acked = True
                elif self.ended and two_xx_tag is None:
                    raise AssertionError(f"{request.method} sent after the end")
                if request.method == "BYE":
                    self.byes.append(request)
        if two_xx_tag is not None:
            assert acked, "a 2xx was not ACKed"

    def invite(self) -> Request:
        return self.session.invite

    @rule(code=st.sampled_from([100, 180, 183]), tag=st.sampled_from([None, "a", "b"]))
    def provisional(self, code: int, tag: str | None) -> None:
        self.apply(self.session.receive_response(_response(self.invite(), code, tag, code == 183)))

    @rule(tag=st.sampled_from(["a", "b"]))
    def success(self, tag: str) -> None:
        response = _response(self.invite(), 200, tag, sdp=True)
        self.mirrors.setdefault(tag, Dialog.from_uas(self.invite(), response, local_via=FAR_VIA))
        self.apply(self.session.receive_response(response), two_xx_tag=tag)
        self.final_seen = True

    @rule(code=st.sampled_from([404, 486, 487, 503, 603]))
    def failure(self, code: int) -> None:
        self.apply(self.session.receive_response(_response(self.invite(), code, "x")))
        self.final_seen = True

    @rule()
    def challenge(self) -> None:
        self.apply(
            self.session.receive_response(self.verifier.challenge(self.invite(), to_tag="p"))
        )

    @rule()
    def cancel(self) -> None:
        try:
            self.apply(self.session.cancel())
        except LocalProtocolError:
            assert self.session.state not in (SessionState.CALLING, SessionState.PROCEEDING)

    @rule()
    def hangup(self) -> None:
        self.apply(self.session.hangup())

    @rule()
    def invite_failed(self) -> None:
        self.apply(self.session.request_failed(self.invite(), 408, "timed out"))

    @rule(code=st.sampled_from([200, 481, 408]))
    def bye_answered(self, code: int) -> None:
        if self.byes:
            self.apply(self.session.receive_response(_response(self.byes[-1], code, None)))

    @rule(tag=st.sampled_from(["a", "b"]), method=st.sampled_from(["BYE", "INFO", "INVITE"]))
    def far_request(self, tag: str, method: str) -> None:
        mirror = self.mirrors.get(tag)
        if mirror is None:
            return
        body, kind = b"", None
        if method == "INFO":
            body, kind = b"Signal=1\r\n", "application/dtmf-relay"
        elif method == "INVITE":
            body, kind = OFFER.replace("sendrecv", "sendonly").encode(), "application/sdp"
        request = wire(Dialog.create_request(mirror, method, body, kind))
        assert isinstance(request, Request)
        outputs = self.session.receive_request(request)
        assert len([o for o in outputs if isinstance(o, Respond)]) == 1
        self.apply(outputs)

    @rule(name=st.sampled_from(["cancel", "answer", "ack", "2xx"]))
    def timer(self, name: str) -> None:
        self.apply(self.session.timer_fired(name))

    @rule()
    def transport_failed(self) -> None:
        self.apply(self.session.transport_failed())

    @invariant()
    def one_outcome(self) -> None:
        assert self.ended <= 1
        assert self.session.ended == (self.ended == 1)
        if self.session.terminated:
            assert self.ended == 1
        assert self.cancels <= 1


class CalleeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        caller = make_caller(seed=7)
        caller.start()
        self.session: InviteSession = make_callee(caller.invite, reliable=False)
        self.ended = 0
        self.finals: list[Response] = []
        self.byes: list[Request] = []
        self.caller_view: Dialog | None = None
        self.apply(self.session.start())

    def apply(self, outputs: Sequence[object]) -> None:
        for output in outputs:
            if isinstance(output, Ended):
                self.ended += 1
            if isinstance(output, Respond) and output.request is self.session.invite:
                response = output.response
                if response.code >= 200 and not any(response is f for f in self.finals):
                    self.finals.append(response)
                if response.code >= 200 and self.caller_view is None and response.code < 300:
                    self.caller_view = Dialog.from_uac(self.session.invite, wire(response))
            if isinstance(output, Send) and isinstance(output.message, Request):
                assert not self.ended, f"{output.message.method} sent after the end"
                if output.message.method == "BYE":
                    self.byes.append(output.message)

    @rule()
    def ring(self) -> None:
        try:
            self.apply(self.session.ring())
        except LocalProtocolError:
            assert self.session.state not in (SessionState.INCOMING, SessionState.RINGING)

    @rule()
    def accept(self) -> None:
        try:
            self.apply(self.session.accept(ANSWER))
        except LocalProtocolError:
            assert self.session.state not in (SessionState.INCOMING, SessionState.RINGING)

    @rule(code=st.sampled_from([486, 488, 603]))
    def reject(self, code: int) -> None:
        try:
            self.apply(self.session.reject(code))
        except LocalProtocolError:
            assert self.session.state not in (SessionState.INCOMING, SessionState.RINGING)

    @rule()
    def hangup(self) -> None:
        self.apply(self.session.hangup())

    @rule()
    def cancel_received(self) -> None:
        from protocols.sip.transaction_requests import build_cancel

        outputs = self.session.receive_request(wire(build_cancel(self.session.invite)))
        assert next(o.response.code for o in outputs if isinstance(o, Respond)) == 200
        self.apply(outputs)

    @rule()
    def ack(self) -> None:
        if self.caller_view is not None and self.finals and self.finals[0].code < 300:
            ack = self.caller_view.create_ack(wire(self.finals[0]))
            self.apply(self.session.receive_request(wire(ack)))

    @rule(method=st.sampled_from(["BYE", "INFO", "UPDATE"]))
    def far_request(self, method: str) -> None:
        if self.caller_view is None:
            return
        try:
            request = self.caller_view.create_request(method)
        except LocalProtocolError:
            return
        outputs = self.session.receive_request(wire(request))
        assert (
            len(
                [
                    o
                    for o in outputs
                    if isinstance(o, Respond) and o.request is not self.session.invite
                ]
            )
            == 1
        )
        if method == "BYE":
            self.caller_view.terminate()
        self.apply(outputs)

    @rule(code=st.sampled_from([200, 408]))
    def bye_answered(self, code: int) -> None:
        if self.byes:
            self.apply(self.session.receive_response(_response(self.byes[-1], code, None)))

    @rule(name=st.sampled_from(["answer", "ack", "2xx"]))
    def timer(self, name: str) -> None:
        self.apply(self.session.timer_fired(name))

    @rule()
    def transport_failed(self) -> None:
        self.apply(self.session.transport_failed())

    @invariant()
    def one_outcome_one_final(self) -> None:
        assert self.ended <= 1
        assert len({f.code for f in self.finals}) <= 1
        assert len(self.finals) <= 1
        if self.session.terminated:
            assert self.ended == 1
        if self.session.state in (SessionState.INCOMING, SessionState.RINGING):
            assert not self.finals


TestCallerMachine = CallerMachine.TestCase
TestCallerMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestCalleeMachine = CalleeMachine.TestCase
TestCalleeMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
