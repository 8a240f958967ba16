"""Server transactions: INVITE (section 17.2.1, RFC 6026) and non-INVITE (17.2.2).

Usage by the owner, for a request no existing transaction matched::

    tx = create_server_transaction(request, reliable=True)
    table.add_server(tx)
    outputs = tx.start()                  # RequestReceived(request) for the TU
    outputs = tx.respond(response)        # Send(response), timers ...
    outputs = tx.receive_request(again)   # a retransmission or the non-2xx ACK
    outputs = tx.timer_fired("G")
    outputs = tx.transport_error()

A retransmitted request makes the transaction resend its last response; the
ACK for a non-2xx final moves the INVITE server transaction to Confirmed and is
not passed up. An INVITE server sends 100 Trying on its own if the TU has not
responded within 200 ms (Timer "Trying"). After a 2xx it waits in Accepted
(RFC 6026, Timer L), absorbing retransmitted INVITEs and sending the TU's 2xx
retransmissions, which are the TU's job (section 13.3.1.4).

``respond`` after the final response (except a 2xx again in Accepted) raises
``LocalProtocolError``.
"""

from __future__ import annotations

from mypy_extensions import mypyc_attr
from sipmessage import Request, Response

from .actions import Send
from .errors import LocalProtocolError
from .replies import response_to
from .transaction_events import Output, RequestReceived, TimedOut
from .transaction_events import TransportFailed as TransportFailedEvent
from .transaction_machine import (
    FAILURE,
    PROVISIONAL,
    START,
    SUCCESS,
    TRANSPORT_ERROR,
    Effect,
    State,
    Table,
    TransactionMachine,
    Transition,
    absorb,
    backoff,
    response_event,
    start,
    stop,
    timer_event,
)
from .transaction_matching import ServerKey, server_key
from .transaction_timers import (
    DEFAULT_TIMERS,
    TIMER_G,
    TIMER_H,
    TIMER_I,
    TIMER_J,
    TIMER_L,
    TIMER_TRYING,
    TimerSettings,
)

S = State
E = Effect

REQUEST = "request"
ACK = "ACK"
RESPOND_PROVISIONAL = "respond 1xx"
RESPOND_SUCCESS = "respond 2xx"
RESPOND_FAILURE = "respond 3xx-6xx"
_RESPOND = {PROVISIONAL: RESPOND_PROVISIONAL, SUCCESS: RESPOND_SUCCESS, FAILURE: RESPOND_FAILURE}


def invite_server_table(reliable: bool) -> Table:
    t: dict[tuple[State, str], Transition] = {}
    t[(S.IDLE, START)] = (S.PROCEEDING, (E.PASS_REQUEST, start(TIMER_TRYING)))
    t[(S.PROCEEDING, timer_event(TIMER_TRYING))] = (S.PROCEEDING, (E.SEND_TRYING,))
    t[(S.PROCEEDING, REQUEST)] = (S.PROCEEDING, (E.RESEND_RESPONSE,))
    absorb(t, S.PROCEEDING, ACK)
    t[(S.PROCEEDING, RESPOND_PROVISIONAL)] = (
        S.PROCEEDING,
        (E.SEND_RESPONSE, *stop(TIMER_TRYING)),
    )
    t[(S.PROCEEDING, RESPOND_SUCCESS)] = (
        S.ACCEPTED,
        (E.SEND_RESPONSE, *stop(TIMER_TRYING), start(TIMER_L)),
    )
    retransmit = () if reliable else (start(TIMER_G),)
    t[(S.PROCEEDING, RESPOND_FAILURE)] = (
        S.COMPLETED,
        (E.SEND_RESPONSE, *stop(TIMER_TRYING), *retransmit, start(TIMER_H)),
    )
    if not reliable:
        t[(S.COMPLETED, timer_event(TIMER_G))] = (
            S.COMPLETED,
            (E.RESEND_RESPONSE, backoff(TIMER_G)),
        )
    t[(S.COMPLETED, REQUEST)] = (S.COMPLETED, (E.RESEND_RESPONSE,))
    if reliable:
        t[(S.COMPLETED, ACK)] = (S.TERMINATED, ())
    else:
        t[(S.COMPLETED, ACK)] = (S.CONFIRMED, (*stop(TIMER_G, TIMER_H), start(TIMER_I)))
    t[(S.COMPLETED, timer_event(TIMER_H))] = (S.TERMINATED, (E.TIMED_OUT,))
    if not reliable:
        absorb(t, S.CONFIRMED, REQUEST, ACK)
        t[(S.CONFIRMED, timer_event(TIMER_I))] = (S.TERMINATED, ())
        t[(S.CONFIRMED, TRANSPORT_ERROR)] = (S.TERMINATED, ())
    absorb(t, S.ACCEPTED, REQUEST, ACK)
    t[(S.ACCEPTED, RESPOND_SUCCESS)] = (S.ACCEPTED, (E.SEND_RESPONSE,))
    t[(S.ACCEPTED, timer_event(TIMER_L))] = (S.TERMINATED, ())
    for state in (S.PROCEEDING, S.COMPLETED, S.ACCEPTED):
        t[(state, TRANSPORT_ERROR)] = (S.TERMINATED, (E.TRANSPORT_FAILED,))
    absorb(t, S.TERMINATED, REQUEST, ACK, TRANSPORT_ERROR)
    return t


def non_invite_server_table(reliable: bool) -> Table:
    t: dict[tuple[State, str], Transition] = {}
    t[(S.IDLE, START)] = (S.TRYING, (E.PASS_REQUEST,))
    absorb(t, S.TRYING, REQUEST)
    t[(S.PROCEEDING, REQUEST)] = (S.PROCEEDING, (E.RESEND_RESPONSE,))
    final: Transition
    if reliable:
        final = (S.TERMINATED, (E.SEND_RESPONSE,))
    else:
        final = (S.COMPLETED, (E.SEND_RESPONSE, start(TIMER_J)))
    for state in (S.TRYING, S.PROCEEDING):
        t[(state, RESPOND_PROVISIONAL)] = (S.PROCEEDING, (E.SEND_RESPONSE,))
        t[(state, RESPOND_SUCCESS)] = final
        t[(state, RESPOND_FAILURE)] = final
    if not reliable:
        t[(S.COMPLETED, REQUEST)] = (S.COMPLETED, (E.RESEND_RESPONSE,))
        t[(S.COMPLETED, timer_event(TIMER_J))] = (S.TERMINATED, ())
        t[(S.COMPLETED, TRANSPORT_ERROR)] = (S.TERMINATED, (E.TRANSPORT_FAILED,))
    for state in (S.TRYING, S.PROCEEDING):
        t[(state, TRANSPORT_ERROR)] = (S.TERMINATED, (E.TRANSPORT_FAILED,))
    absorb(t, S.TERMINATED, REQUEST, TRANSPORT_ERROR)
    return t


INVITE_SERVER_TABLES = {reliable: invite_server_table(reliable) for reliable in (False, True)}
NON_INVITE_SERVER_TABLES = {
    reliable: non_invite_server_table(reliable) for reliable in (False, True)
}


@mypyc_attr(allow_interpreted_subclasses=True)
class _ServerTransaction(TransactionMachine):
    __slots__ = ("key", "last_response")

    def __init__(
        self, request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
    ) -> None:
        super().__init__(request, reliable=reliable, timers=timers)
        self.key: ServerKey = server_key(request)
        self.last_response: Response | None = None

    def start(self) -> list[Output]:
        """Pass the request to the TU; call once, right after creating."""
        return self._step(START)

    def receive_request(self, request: Request) -> list[Output]:
        """A request whose ``server_key`` equals ``self.key``: a retransmission
        (answered with the last response) or, for INVITE, the ACK of a non-2xx."""
        return self._step(ACK if request.method == "ACK" else REQUEST, request)

    def respond(self, response: Response) -> list[Output]:
        """Send the TU's response (provisional or final) to the request."""
        return self._step(_RESPOND[response_event(response.code)], response)

    def _pass_request(self, _: str, out: list[Output]) -> None:
        out.append(RequestReceived(request=self.request))

    def _send_response(self, _: str, out: list[Output]) -> None:
        if not isinstance(self._current, Response):
            raise LocalProtocolError("send a response", self.state.value, self.role)
        self.last_response = self._current
        out.append(Send(message=self._current))

    def _resend_response(self, _: str, out: list[Output]) -> None:
        if self.last_response is not None:
            out.append(Send(message=self.last_response))

    def _send_trying(self, _: str, out: list[Output]) -> None:
        self.last_response = response_to(self.request, 100)
        out.append(Send(message=self.last_response))

    def _timed_out(self, _: str, out: list[Output]) -> None:
        out.append(TimedOut())

    def _transport_failed(self, _: str, out: list[Output]) -> None:
        out.append(TransportFailedEvent())


@mypyc_attr(allow_interpreted_subclasses=True)
class InviteServerTransaction(_ServerTransaction):
    __slots__ = ()

    role = "INVITE server transaction"
    for_invite = True
    tables = INVITE_SERVER_TABLES


@mypyc_attr(allow_interpreted_subclasses=True)
class NonInviteServerTransaction(_ServerTransaction):
    __slots__ = ()

    role = "non-INVITE server transaction"
    for_invite = False
    tables = NON_INVITE_SERVER_TABLES


ServerTransaction = InviteServerTransaction | NonInviteServerTransaction


def create_server_transaction(
    request: Request, *, reliable: bool, timers: TimerSettings = DEFAULT_TIMERS
) -> ServerTransaction:
    """The right kind for a new request; an ACK never creates one (it belongs
    to a dialog when no INVITE server transaction matched it)."""
    if request.method == "INVITE":
        return InviteServerTransaction(request, reliable=reliable, timers=timers)
    return NonInviteServerTransaction(request, reliable=reliable, timers=timers)
