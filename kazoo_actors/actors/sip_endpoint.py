"""One account's transaction layer: requests out in client transactions, requests in routed.

Synchronous, like the machines it holds: the account actor feeds it messages
and fired timers and performs what it returns. Every request a usage sends
runs in a client transaction (RFC 3261 s.17.1); every request from the server
gets a server transaction, so a retransmission is answered from it and never
reaches a usage twice. Timer names are prefixed with the transaction's number
so that one account-wide timer table serves them all.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import attrs
from sipmessage import Request, Response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.transaction import (
    ClientTransaction,
    Output,
    RequestReceived,
    ResponseReceived,
    RetransmittedResponse,
    ServerTransaction,
    Terminated,
    TimedOut,
    TransactionTable,
    TransportFailed,
    create_client_transaction,
    create_server_transaction,
)

log = logging.getLogger("kazoo_actors.sip_endpoint")

Action = Send | StartTimer | CancelTimer


@attrs.frozen(kw_only=True)
class FinalResponse:
    """The final response to a request a usage sent."""

    request: Request
    response: Response


@attrs.frozen(kw_only=True)
class ProvisionalResponse:
    """A 1xx to a request a usage sent (an INVITE's ringing and early media)."""

    request: Request
    response: Response


@attrs.frozen(kw_only=True)
class RequestFailed:
    """No final response: the transaction timed out (408) or the transport failed (503)."""

    request: Request
    code: int
    reason: str


@attrs.frozen(kw_only=True)
class IncomingRequest:
    """A new request from the server; answer it with ``SipEndpoint.respond``."""

    request: Request


EndpointOutput = Action | FinalResponse | ProvisionalResponse | RequestFailed | IncomingRequest

# Prefixed timer actions, built once: the prefixes start again at t1 in every account, so
# nearly every account's transactions start and cancel the same few (frozen, immutable)
# actions, and building a frozen dataclass cost more than the rest of a transaction step.
_PREFIXED_STARTS: dict[tuple[str, str, float], StartTimer] = {}
_PREFIXED_CANCELS: dict[tuple[str, str], CancelTimer] = {}
_MAX_PREFIXED = 1024
"""Entries kept per kind: a long-lived account's later transactions (t40, t41, ...) get new ones."""


def prefixed_start(prefix: str, timer: StartTimer) -> StartTimer:
    """``timer`` under its transaction's ``prefix`` in the account-wide timer table."""
    key = (prefix, timer.name, timer.seconds)
    found = _PREFIXED_STARTS.get(key)
    if found is None:
        found = StartTimer(name=f"{prefix}/{timer.name}", seconds=timer.seconds)
        if len(_PREFIXED_STARTS) < _MAX_PREFIXED:
            _PREFIXED_STARTS[key] = found
    return found


def prefixed_cancel(prefix: str, timer: CancelTimer) -> CancelTimer:
    key = (prefix, timer.name)
    found = _PREFIXED_CANCELS.get(key)
    if found is None:
        found = CancelTimer(name=f"{prefix}/{timer.name}")
        if len(_PREFIXED_CANCELS) < _MAX_PREFIXED:
            _PREFIXED_CANCELS[key] = found
    return found


class SipEndpoint:
    __slots__ = ("_account", "_numbers", "_servers_by_request", "_table", "_timers")

    def __init__(self, *, account: str) -> None:
        self._account = account
        self._table = TransactionTable()
        self._numbers = itertools.count(1)
        # timer prefix -> transaction, and the transaction's prefix by identity
        self._timers: dict[str, ClientTransaction | ServerTransaction] = {}
        self._servers_by_request: dict[int, ServerTransaction] = {}

    def __len__(self) -> int:
        return len(self._table)

    def send_request(self, request: Request) -> list[EndpointOutput]:
        """Start a client transaction for ``request`` (over a reliable transport)."""
        tx = create_client_transaction(request, reliable=True)
        self._table.add_client(tx)
        return self._perform(tx, self._register_timers(tx), tx.start())

    def receive(self, message: Request | Response) -> list[EndpointOutput]:
        """Route one message from the wire; ParseError when headers we must read are bad."""
        if isinstance(message, Response):
            client = self._table.match_response(message)
            if client is None:
                return []  # a stray or late response: RFC 3261 s.18.1.2 drops it
            return self._perform(client, self._prefix_of(client), client.receive_response(message))
        server = self._table.match_request(message)
        if server is not None:
            return self._perform(server, self._prefix_of(server), server.receive_request(message))
        if message.method == "ACK":
            # The ACK for a 2xx has no transaction: it goes to the dialog's usage.
            return [IncomingRequest(request=message)]
        new = create_server_transaction(message, reliable=True)
        self._table.add_server(new)
        self._servers_by_request[id(message)] = new
        return self._perform(new, self._register_timers(new), new.start())

    def respond(self, request: Request, response: Response) -> list[EndpointOutput]:
        # An INVITE gets provisional responses before its final one (and a 2xx
        # may be resent), so the mapping lives until the transaction terminates.
        server = self._servers_by_request.get(id(request))
        if server is None or server.terminated:
            return []
        return self._perform(server, self._prefix_of(server), server.respond(response))

    def timer_fired(self, name: str) -> list[EndpointOutput]:
        prefix, _, timer = name.partition("/")
        tx = self._timers.get(prefix)
        if tx is None or timer not in tx.running_timers:
            return []
        return self._perform(tx, prefix, tx.timer_fired(timer))

    def transport_lost(self) -> list[EndpointOutput]:
        """The connection is gone: every open transaction fails now (503 for clients)."""
        out: list[EndpointOutput] = []
        for prefix, tx in list(self._timers.items()):
            if not tx.terminated:
                out.extend(self._perform(tx, prefix, tx.transport_error()))
            self._forget(tx, prefix)
        self._servers_by_request.clear()
        return [o for o in out if not isinstance(o, Send)]

    def _register_timers(self, tx: ClientTransaction | ServerTransaction) -> str:
        prefix = f"t{next(self._numbers)}"
        self._timers[prefix] = tx
        return prefix

    def _prefix_of(self, tx: ClientTransaction | ServerTransaction) -> str:
        for prefix, known in self._timers.items():
            if known is tx:
                return prefix
        return self._register_timers(tx)

    def _forget(self, tx: ClientTransaction | ServerTransaction, prefix: str) -> None:
        self._table.remove(tx)
        self._timers.pop(prefix, None)

    def _perform(
        self, tx: ClientTransaction | ServerTransaction, prefix: str, outputs: list[Output]
    ) -> list[EndpointOutput]:
        out: list[EndpointOutput] = []
        items: list[Any] = outputs  # narrowed by exact class below, which mypy cannot follow
        for item in items:
            # Dispatch on the exact class (the transaction layer emits exactly these final
            # dataclasses), most frequent first: one type() call per item instead of a chain
            # of isinstance calls, on every message of every account.
            kind = type(item)
            if kind is Send:
                out.append(item)
            elif kind is StartTimer:
                out.append(prefixed_start(prefix, item))
            elif kind is CancelTimer:
                out.append(prefixed_cancel(prefix, item))
            elif kind is ResponseReceived:
                response = item.response
                if response.code >= 200:
                    out.append(FinalResponse(request=tx.request, response=response))
                else:
                    out.append(ProvisionalResponse(request=tx.request, response=response))
            elif kind is Terminated:
                self._forget(tx, prefix)
                if self._servers_by_request:  # only server transactions are mapped
                    self._servers_by_request.pop(id(tx.request), None)
            elif kind is RequestReceived:
                out.append(IncomingRequest(request=item.request))
            elif kind is RetransmittedResponse:
                # A 2xx to INVITE again: its usage must resend the ACK.
                response = item.response
                out.append(FinalResponse(request=tx.request, response=response))
            elif kind is TimedOut:
                out.append(RequestFailed(request=tx.request, code=408, reason="timed out"))
            elif kind is TransportFailed:
                out.append(RequestFailed(request=tx.request, code=503, reason="transport failed"))
            else:
                raise TypeError(f"unexpected transaction output {item!r}")
        return out
