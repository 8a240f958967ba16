"""The two error types of the SIP core, after h11's LocalProtocolError/RemoteProtocolError."""

from __future__ import annotations


class ParseError(ValueError):
    """Input from the wire could not be understood.

    This is the only exception that parsing remote data raises: malformed bytes
    never surface as ``KeyError``, ``IndexError`` or ``UnicodeDecodeError``.
    """


RemoteProtocolError = ParseError
"""Alias: the remote error type, named as in h11."""


class LocalProtocolError(Exception):
    """This side asked a machine to do something its state does not allow.

    The message names the event, the state and the role, so that the bug is
    visible where it is made.
    """

    def __init__(self, event: str, state: str, role: str) -> None:
        super().__init__(f"cannot handle {event} in state {state} as {role}")
        self.event = event
        self.state = state
        self.role = role
