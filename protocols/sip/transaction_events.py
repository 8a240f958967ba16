"""What a transaction tells its transaction user (TU).

Transaction methods return a list mixing these events with the actions of
``protocols.sip.actions`` (``Send``, ``StartTimer``, ``CancelTimer``), in the
order they happen.

Outcomes: a client transaction reports exactly one of a final
``ResponseReceived``, ``TimedOut`` or ``TransportFailed`` before
``Terminated`` (an INVITE client may add further 2xx, see below). A server
transaction reports ``RequestReceived`` once, when started, and
``TimedOut`` (no ACK for a non-2xx final) or ``TransportFailed`` if it failed.
``Terminated`` is always the last event; the owner then drops the transaction
from its ``TransactionTable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipmessage import Request, Response

from .actions import Action

# The events with a field write it in an __init__ of their own (init=False): compiled
# (setup.py), that is a C function, while the __init__ dataclasses generates stays
# Python code run by the interpreter, several times the cost for every response a
# transaction passes up. Frozen, equality, hash and repr are still dataclasses'.


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class ResponseReceived:
    """A response for the TU: every provisional, the first final, and each
    2xx with a new To tag (another fork of an INVITE)."""

    response: Response

    def __init__(self, *, response: Response) -> None:
        object.__setattr__(self, "response", response)


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class RetransmittedResponse:
    """A 2xx to INVITE arrived again with an already reported To tag: the TU
    resends its ACK (RFC 6026 Accepted state); other retransmissions are absorbed."""

    response: Response

    def __init__(self, *, response: Response) -> None:
        object.__setattr__(self, "response", response)


@dataclass(frozen=True, kw_only=True, slots=True, init=False)
class RequestReceived:
    """The request that created a server transaction, for the TU to answer."""

    request: Request

    def __init__(self, *, request: Request) -> None:
        object.__setattr__(self, "request", request)


@dataclass(frozen=True, kw_only=True, slots=True)
class TimedOut:
    """Timer B, C or F (client) or H (server: no ACK) expired."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TransportFailed:
    """The owner reported a transport error while the outcome was still open."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Terminated:
    """The transaction is over: no more sends, no running timers."""


TransactionEvent = (
    ResponseReceived
    | RetransmittedResponse
    | RequestReceived
    | TimedOut
    | TransportFailed
    | Terminated
)
Output = Action | TransactionEvent
