"""Two InviteSessions wired to each other through bytes, for the INVITE usage tests.

Like h11's ConnectionPair: what one side sends is serialized, parsed again and
handed to the other, with no transactions in between (tests add proxy
behaviour such as a 407 or a lost message by hand).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar, overload

from sipmessage import Request, Response, Via

from protocols.sip.actions import Send
from protocols.sip.invite_session import InviteSession, SessionOutput
from protocols.sip.message import parse_message
from protocols.sip.respond_action import Respond

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
)
ANSWER = OFFER.replace("4000", "5000")
ALICE_VIA = Via("WS", "alice.invalid")
BOB_VIA = Via("WS", "bob.invalid")

Output = TypeVar("Output")


@overload
def wire(message: Request) -> Request: ...
@overload
def wire(message: Response) -> Response: ...
def wire(message: Request | Response) -> Request | Response:
    """The message serialized and parsed again: a request stays a request, a response a response."""
    parsed = parse_message(bytes(message))
    assert isinstance(parsed, Request) == isinstance(message, Request)
    return parsed


def requests(outputs: Sequence[object], method: str | None = None) -> list[Request]:
    found = [o.message for o in outputs if isinstance(o, Send) and isinstance(o.message, Request)]
    return [r for r in found if method is None or r.method == method]


def replies(outputs: Sequence[object]) -> list[Respond]:
    return [o for o in outputs if isinstance(o, Respond)]


def of_type(outputs: Sequence[object], kind: type[Output]) -> list[Output]:
    return [o for o in outputs if isinstance(o, kind)]


def make_caller(seed: int = 1, **changes: object) -> InviteSession:
    settings: dict[str, object] = {
        "target": "sip:bob@example.com",
        "local_address": '"Alice Smith" <sip:alice@example.com>',
        "contact": "sip:alice@alice.invalid;transport=ws",
        "local_via": ALICE_VIA,
        "offer_sdp": OFFER,
        "rng": random.Random(seed),
    }
    settings.update(changes)
    return InviteSession.outgoing(**settings)  # type: ignore[arg-type]


def make_callee(invite: Request, seed: int = 2, **changes: object) -> InviteSession:
    settings: dict[str, object] = {
        "contact": "sip:bob@bob.invalid;transport=ws",
        "local_via": BOB_VIA,
        "rng": random.Random(seed),
    }
    settings.update(changes)
    request = wire(invite)
    assert isinstance(request, Request)
    return InviteSession.incoming(request, **settings)  # type: ignore[arg-type]


class Pair:
    """A caller and a callee; ``deliver`` carries outputs across and returns the answer's."""

    def __init__(self, **caller_changes: object) -> None:
        self.caller = make_caller(1, **caller_changes)
        out = self.caller.start()
        (invite,) = requests(out, "INVITE")
        self.callee = make_callee(invite)
        self.callee_start = self.callee.start()

    def to_callee(self, outputs: Sequence[object]) -> list[SessionOutput]:
        """Requests the caller sent and responses it gave, delivered to the callee."""
        result: list[SessionOutput] = []
        for output in outputs:
            if isinstance(output, Send) and isinstance(output.message, Request):
                request = wire(output.message)
                assert isinstance(request, Request)
                result += self.callee.receive_request(request)
            elif isinstance(output, Respond):
                response = wire(output.response)
                assert isinstance(response, Response)
                result += self.callee.receive_response(response)
        return result

    def to_caller(self, outputs: Sequence[object]) -> list[SessionOutput]:
        result: list[SessionOutput] = []
        for output in outputs:
            if isinstance(output, Respond):
                response = wire(output.response)
                assert isinstance(response, Response)
                result += self.caller.receive_response(response)
            elif isinstance(output, Send) and isinstance(output.message, Request):
                request = wire(output.message)
                assert isinstance(request, Request)
                result += self.caller.receive_request(request)
        return result

    def answered(self) -> None:
        """Ring, accept and ACK: both sides confirmed."""
        self.to_caller(self.callee.ring())
        back = self.to_caller(self.callee.accept(ANSWER))
        self.to_callee(back)
