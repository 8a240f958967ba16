"""Sans-IO SIP: messages, digest, transactions, dialogs and usages.

The layers, bottom up (JsSIP's order): ``message``/``framing`` (syntax),
``transaction*`` (RFC 3261 s.17), ``dialog`` (s.12), and the usages
``registration``, ``invite_session``, ``refer`` and ``notify``. Each machine
takes messages, ``now`` and ``TimerFired`` in, and returns actions (``Send``,
``StartTimer``, ``CancelTimer``) and events; none does I/O or reads a clock.
"""

from .actions import Action, CancelTimer, Send, StartTimer, TimerFired
from .dialog import Dialog
from .digest import DigestClient, DigestCredentials
from .errors import LocalProtocolError, ParseError, RemoteProtocolError
from .framing import StreamFramer
from .invite_session import InviteSession
from .message import SipRequest, SipResponse, messages_equal, parse_message
from .notify import classify_notify
from .registration import Registration
from .replies import response_to
from .transaction import (
    TransactionTable,
    create_client_transaction,
    create_server_transaction,
)

__all__ = [
    "Action",
    "CancelTimer",
    "Dialog",
    "DigestClient",
    "DigestCredentials",
    "InviteSession",
    "LocalProtocolError",
    "ParseError",
    "Registration",
    "RemoteProtocolError",
    "Send",
    "SipRequest",
    "SipResponse",
    "StartTimer",
    "StreamFramer",
    "TimerFired",
    "TransactionTable",
    "classify_notify",
    "create_client_transaction",
    "create_server_transaction",
    "messages_equal",
    "parse_message",
    "response_to",
]
