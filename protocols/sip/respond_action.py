"""The action a usage returns to answer a request through its server transaction.

``Send`` carries requests (the owner runs each in a client transaction, or
sends an ACK as it is); a response has to go through the server transaction
of the request it answers, so the usage names that request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipmessage import Request, Response


@dataclass(frozen=True, kw_only=True, slots=True)
class Respond:
    request: Request
    response: Response
