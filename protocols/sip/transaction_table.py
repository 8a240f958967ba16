"""The registry of live transactions an owner routes messages through.

``TransactionTable`` is two dicts keyed by the tuples of
``transaction_matching``; every lookup is one key computation and one hash.

- ``match_response(response)``: the client transaction, or None (a stray
  response, dropped).
- ``match_request(request)``: the server transaction for a retransmission or
  a non-2xx ACK, or None: a new request then gets
  ``create_server_transaction`` + ``add_server``; an unmatched ACK is an ACK
  for a 2xx and goes to its dialog.
- ``cancelled_invite(cancel)``: the INVITE server transaction a CANCEL targets.
- ``remove(tx)`` when the transaction emitted ``Terminated``.
"""

from __future__ import annotations

from sipmessage import Request, Response

from .errors import LocalProtocolError
from .transaction_client import (
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from .transaction_matching import (
    ClientKey,
    ServerKey,
    cancelled_key,
    response_key,
    server_key,
)
from .transaction_server import InviteServerTransaction, ServerTransaction

# A tuple, not ``A | B``: that expression builds a union object on every call.
_CLIENT_KINDS = (InviteClientTransaction, NonInviteClientTransaction)


class TransactionTable:
    __slots__ = ("_clients", "_servers")

    def __init__(self) -> None:
        self._clients: dict[ClientKey, ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}

    def __len__(self) -> int:
        return len(self._clients) + len(self._servers)

    def add_client(self, transaction: ClientTransaction) -> None:
        if transaction.key in self._clients:
            raise LocalProtocolError("add a second transaction", str(transaction.key), "table")
        self._clients[transaction.key] = transaction

    def add_server(self, transaction: ServerTransaction) -> None:
        if transaction.key in self._servers:
            raise LocalProtocolError("add a second transaction", str(transaction.key), "table")
        self._servers[transaction.key] = transaction

    def remove(self, transaction: ClientTransaction | ServerTransaction) -> None:
        """Forget a transaction; removing one that is not registered is a no-op."""
        if isinstance(transaction, _CLIENT_KINDS):
            if self._clients.get(transaction.key) is transaction:
                del self._clients[transaction.key]
        elif self._servers.get(transaction.key) is transaction:
            del self._servers[transaction.key]

    def match_response(self, response: Response) -> ClientTransaction | None:
        return self._clients.get(response_key(response))

    def match_request(self, request: Request) -> ServerTransaction | None:
        return self._servers.get(server_key(request))

    def cancelled_invite(self, cancel: Request) -> InviteServerTransaction | None:
        found = self._servers.get(cancelled_key(cancel))
        return found if isinstance(found, InviteServerTransaction) else None
