"""RFC 3261 section 17 transactions as sans-IO machines: the public API.

Four kinds, each a transition table (``transaction_client``,
``transaction_server``) walked by ``transaction_machine``:

- ``InviteClientTransaction(invite, reliable=..., timers=TimerSettings())``
- ``NonInviteClientTransaction(request, reliable=..., timers=...)``
- ``InviteServerTransaction(invite, reliable=..., timers=...)``
- ``NonInviteServerTransaction(request, reliable=..., timers=...)``
- ``create_client_transaction`` / ``create_server_transaction`` pick the kind
  from the method.

``reliable=True`` for WebSocket/TCP/TLS: no request/response retransmission
timers (A, E, G) and zero-length D, I, J, K; ``False`` for UDP. Timer values
derive from ``TimerSettings(t1=0.5, t2=4, t4=5)`` (see ``transaction_timers``).

Every method returns ``list[Output]``: actions (``Send(message)``,
``StartTimer(name, seconds)``, ``CancelTimer(name)``) and events
(``ResponseReceived``, ``RetransmittedResponse``, ``RequestReceived``,
``TimedOut``, ``TransportFailed``, ``Terminated``), in order. The owner
performs the actions, keeps one deadline per timer name and calls
``timer_fired(name)`` when it passes; a failed send is reported with
``transport_error()``. Client: ``start()``, ``receive_response(r)``. Server:
``start()``, ``receive_request(r)``, ``respond(r)``. Common: ``state``,
``terminated``, ``key``, ``request``, ``running_timers``.

Input from the wire is absorbed in every state; an illegal local call raises
``LocalProtocolError(event, state, role)``. A malformed header the machine
must read raises ``ParseError``.

Routing: ``TransactionTable`` (``add_client``, ``add_server``,
``match_response``, ``match_request``, ``cancelled_invite``, ``remove``) with
the keys of ``transaction_matching``. Requests built here:
``build_non2xx_ack`` (done by the INVITE client itself) and ``build_cancel``.

A typical owner loop for a request a usage sends::

    tx = create_client_transaction(request, reliable=True)
    table.add_client(tx)
    perform(tx.start())
    ...
    tx = table.match_response(response)
    if tx is not None:
        perform(tx.receive_response(response))   # drop strays

where ``perform`` sends, (re)arms or cancels timers, hands events to the usage
and calls ``table.remove(tx)`` on ``Terminated``.
"""

from __future__ import annotations

from .transaction_client import (
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
    create_client_transaction,
)
from .transaction_events import (
    Output,
    RequestReceived,
    ResponseReceived,
    RetransmittedResponse,
    Terminated,
    TimedOut,
    TransactionEvent,
    TransportFailed,
)
from .transaction_machine import State
from .transaction_matching import (
    ClientKey,
    ServerKey,
    cancelled_key,
    client_key,
    response_key,
    server_key,
)
from .transaction_requests import build_cancel, build_non2xx_ack
from .transaction_server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerTransaction,
    create_server_transaction,
)
from .transaction_table import TransactionTable
from .transaction_timers import DEFAULT_TIMERS, TimerSettings

__all__ = [
    "DEFAULT_TIMERS",
    "ClientKey",
    "ClientTransaction",
    "InviteClientTransaction",
    "InviteServerTransaction",
    "NonInviteClientTransaction",
    "NonInviteServerTransaction",
    "Output",
    "RequestReceived",
    "ResponseReceived",
    "RetransmittedResponse",
    "ServerKey",
    "ServerTransaction",
    "State",
    "Terminated",
    "TimedOut",
    "TimerSettings",
    "TransactionEvent",
    "TransactionTable",
    "TransportFailed",
    "build_cancel",
    "build_non2xx_ack",
    "cancelled_key",
    "client_key",
    "create_client_transaction",
    "create_server_transaction",
    "response_key",
    "server_key",
]
