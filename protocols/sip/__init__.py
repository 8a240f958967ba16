"""Sans-IO SIP: messages, digest, transactions, dialogs and usages."""

from .actions import Action, CancelTimer, Send, StartTimer, TimerFired
from .errors import LocalProtocolError, ParseError, RemoteProtocolError

__all__ = [
    "Action",
    "CancelTimer",
    "LocalProtocolError",
    "ParseError",
    "RemoteProtocolError",
    "Send",
    "StartTimer",
    "TimerFired",
]
