"""Client transactions: INVITE (section 17.1.1, RFC 6026) and non-INVITE (17.1.2).

Usage by the owner (one per request a usage sends)::

    tx = InviteClientTransaction(invite, reliable=True)   # or NonInviteClientTransaction
    table.add_client(tx)
    outputs = tx.start()                 # Send the request, StartTimer ...
    outputs = tx.receive_response(resp)  # ResponseReceived, Send(ACK) ...
    outputs = tx.timer_fired("B")        # TimedOut, Terminated ...
    outputs = tx.transport_error()       # TransportFailed, Terminated

INVITE client states: Idle -> Calling -> Proceeding -> Completed | Accepted ->
Terminated. A 2xx moves to Accepted (RFC 6026) where further 2xx are passed up
(a new To tag as ``ResponseReceived``, a repeated one as
``RetransmittedResponse``) until Timer M; the TU sends the ACK for a 2xx
itself (``Dialog.create_ack``). A 3xx-6xx is acknowledged here and its
retransmissions re-acknowledged until Timer D.

Non-INVITE client states: Idle -> Trying -> Proceeding -> Completed ->
Terminated; a final response is passed up once, retransmissions absorbed
until Timer K.
"""

from __future__ import annotations

from mypy_extensions import mypyc_attr
from sipmessage import Request, Response

from . import checked_headers
from .actions import Send
from .errors import LocalProtocolError
from .transaction_events import Output, ResponseReceived, RetransmittedResponse, TimedOut
from .transaction_events import TransportFailed as TransportFailedEvent
from .transaction_machine import (
    FAILURE,
    PROVISIONAL,
    RESPONSE_EVENTS,
    START,
    SUCCESS,
    TRANSPORT_ERROR,
    Effect,
    State,
    Table,
    TransactionMachine,
    Transition,
    absorb,
    at_cap,
    backoff,
    response_event,
    start,
    stop,
    timer_event,
)
from .transaction_matching import ClientKey, client_key
from .transaction_requests import build_non2xx_ack
from .transaction_timers import (
    DEFAULT_TIMERS,
    TIMER_A,
    TIMER_B,
    TIMER_C,
    TIMER_D,
    TIMER_E,
    TIMER_F,
    TIMER_K,
    TIMER_M,
    TimerSettings,
)

S = State
E = Effect


def invite_client_table(reliable: bool) -> Table:
    t: dict[tuple[State, str], Transition] = {}
    retransmit = () if reliable else (start(TIMER_A),)
    t[(S.IDLE, START)] = (S.CALLING, (E.SEND_REQUEST, *retransmit, start(TIMER_B)))
    if not reliable:
        t[(S.CALLING, timer_event(TIMER_A))] = (S.CALLING, (E.SEND_REQUEST, backoff(TIMER_A)))
    t[(S.CALLING, timer_event(TIMER_B))] = (S.TERMINATED, (E.TIMED_OUT,))
    t[(S.PROCEEDING, timer_event(TIMER_C))] = (S.TERMINATED, (E.TIMED_OUT,))
    t[(S.CALLING, PROVISIONAL)] = (
        S.PROCEEDING,
        (E.PASS_RESPONSE, *stop(TIMER_A, TIMER_B), start(TIMER_C)),
    )
    t[(S.PROCEEDING, PROVISIONAL)] = (S.PROCEEDING, (E.PASS_RESPONSE, start(TIMER_C)))
    completed: Transition
    for state in (S.CALLING, S.PROCEEDING):
        t[(state, SUCCESS)] = (
            S.ACCEPTED,
            (E.PASS_2XX, *stop(TIMER_A, TIMER_B, TIMER_C), start(TIMER_M)),
        )
        if reliable:
            completed = (S.TERMINATED, (E.PASS_RESPONSE, E.SEND_ACK))
        else:
            completed = (
                S.COMPLETED,
                (E.PASS_RESPONSE, E.SEND_ACK, *stop(TIMER_A, TIMER_B, TIMER_C), start(TIMER_D)),
            )
        t[(state, FAILURE)] = completed
        t[(state, TRANSPORT_ERROR)] = (S.TERMINATED, (E.TRANSPORT_FAILED,))
    if not reliable:
        t[(S.COMPLETED, FAILURE)] = (S.COMPLETED, (E.SEND_ACK,))
        absorb(t, S.COMPLETED, PROVISIONAL, SUCCESS)
        t[(S.COMPLETED, timer_event(TIMER_D))] = (S.TERMINATED, ())
        t[(S.COMPLETED, TRANSPORT_ERROR)] = (S.TERMINATED, ())
    t[(S.ACCEPTED, SUCCESS)] = (S.ACCEPTED, (E.PASS_2XX,))
    absorb(t, S.ACCEPTED, PROVISIONAL, FAILURE)
    t[(S.ACCEPTED, timer_event(TIMER_M))] = (S.TERMINATED, ())
    t[(S.ACCEPTED, TRANSPORT_ERROR)] = (S.TERMINATED, ())
    absorb(t, S.TERMINATED, *RESPONSE_EVENTS, TRANSPORT_ERROR)
    return t


def non_invite_client_table(reliable: bool) -> Table:
    t: dict[tuple[State, str], Transition] = {}
    retransmit = () if reliable else (start(TIMER_E),)
    t[(S.IDLE, START)] = (S.TRYING, (E.SEND_REQUEST, *retransmit, start(TIMER_F)))
    if not reliable:
        t[(S.TRYING, timer_event(TIMER_E))] = (S.TRYING, (E.SEND_REQUEST, backoff(TIMER_E)))
        t[(S.PROCEEDING, timer_event(TIMER_E))] = (
            S.PROCEEDING,
            (E.SEND_REQUEST, at_cap(TIMER_E)),
        )
    final: Transition
    if reliable:
        final = (S.TERMINATED, (E.PASS_RESPONSE,))
    else:
        final = (S.COMPLETED, (E.PASS_RESPONSE, *stop(TIMER_E, TIMER_F), start(TIMER_K)))
    for state in (S.TRYING, S.PROCEEDING):
        t[(state, timer_event(TIMER_F))] = (S.TERMINATED, (E.TIMED_OUT,))
        t[(state, PROVISIONAL)] = (S.PROCEEDING, (E.PASS_RESPONSE,))
        t[(state, SUCCESS)] = final
        t[(state, FAILURE)] = final
        t[(state, TRANSPORT_ERROR)] = (S.TERMINATED, (E.TRANSPORT_FAILED,))
    if not reliable:
        absorb(t, S.COMPLETED, *RESPONSE_EVENTS)
        t[(S.COMPLETED, timer_event(TIMER_K))] = (S.TERMINATED, ())
        t[(S.COMPLETED, TRANSPORT_ERROR)] = (S.TERMINATED, ())
    absorb(t, S.TERMINATED, *RESPONSE_EVENTS, TRANSPORT_ERROR)
    return t


INVITE_CLIENT_TABLES = {reliable: invite_client_table(reliable) for reliable in (False, True)}
NON_INVITE_CLIENT_TABLES = {
    reliable: non_invite_client_table(reliable) for reliable in (False, True)
}


@mypyc_attr(allow_interpreted_subclasses=True)
class _ClientTransaction(TransactionMachine):
    __slots__ = ("key",)

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
    ) -> None:
        TransactionMachine.__init__(self, request, reliable=reliable, timers=timers)
        self.key: ClientKey = client_key(request)

    def start(self) -> list[Output]:
        """Send the request and start the timers; call once."""
        return self._step(START)

    def receive_response(self, response: Response) -> list[Output]:
        """A response whose ``response_key`` equals ``self.key``."""
        return self._step(response_event(response.code), response)

    def _response(self) -> Response:
        current = self._current
        if not isinstance(current, Response):
            raise LocalProtocolError("pass a response", self.state.value, self.role)
        return current

    def _send_request(self, _: str, out: list[Output]) -> None:
        out.append(Send(message=self.request))

    def _pass_response(self, _: str, out: list[Output]) -> None:
        out.append(ResponseReceived(response=self._response()))

    def _timed_out(self, _: str, out: list[Output]) -> None:
        out.append(TimedOut())

    def _transport_failed(self, _: str, out: list[Output]) -> None:
        out.append(TransportFailedEvent())


@mypyc_attr(allow_interpreted_subclasses=True)
class InviteClientTransaction(_ClientTransaction):
    __slots__ = ("_ack", "_to_tags")

    role = "INVITE client transaction"
    for_invite = True
    tables = INVITE_CLIENT_TABLES

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        self._ack: Request | None = None
        self._to_tags: set[str] = set()

    @property
    def can_cancel(self) -> bool:
        """A provisional response arrived and no final yet (section 9.1)."""
        return self.state is State.PROCEEDING

    def _send_ack(self, _: str, out: list[Output]) -> None:
        # Retransmitted finals are acknowledged with the very same ACK.
        if self._ack is None:
            self._ack = build_non2xx_ack(self.request, self._response())
        out.append(Send(message=self._ack))

    def _pass_2xx(self, _: str, out: list[Output]) -> None:
        response = self._response()
        to_tag = checked_headers.to_tag(response) or ""
        if to_tag in self._to_tags:
            out.append(RetransmittedResponse(response=response))
        else:
            self._to_tags.add(to_tag)
            out.append(ResponseReceived(response=response))


@mypyc_attr(allow_interpreted_subclasses=True)
class NonInviteClientTransaction(_ClientTransaction):
    __slots__ = ()

    role = "non-INVITE client transaction"
    for_invite = False
    tables = NON_INVITE_CLIENT_TABLES


ClientTransaction = InviteClientTransaction | NonInviteClientTransaction


def create_client_transaction(
    request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
) -> ClientTransaction:
    """The right kind for the request's method (ACK has no transaction)."""
    if request.method == "INVITE":
        return InviteClientTransaction(request, reliable=reliable, timers=timers)
    return NonInviteClientTransaction(request, reliable=reliable, timers=timers)
