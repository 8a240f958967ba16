"""The request we originate, serialised as sipmessage serialises any ``Request``.

Its one difference is the Request-URI's text: a usage sends every request of
its life to the same URI object (a registrar's, shared by thousands of
accounts), and rendering that object through sipmessage (its parameters are a
Python-level ``Mapping``, quoted one by one) cost more than the rest of the
request line and header section. The text is taken once, from the caller or
on the first ``bytes()``, and used again for as long as ``uri`` is that object.
Its headers may come ready-made (``OutgoingHeaders``, with their text).
"""

from __future__ import annotations

from sipmessage import URI

from .message import SipRequest
from .parsed_headers import ParsedHeaders


class OutgoingRequest(SipRequest):
    def __init__(
        self,
        method: str,
        uri: URI,
        body: bytes = b"",
        *,
        uri_text: str | None = None,
        headers: ParsedHeaders | None = None,
    ) -> None:
        # SipRequest.__init__'s four attributes, without its empty store when
        # the caller brings the headers.
        self.method = method
        self.uri = uri
        self.body = body
        self.headers = ParsedHeaders() if headers is None else headers
        # The text belongs to this URI object; assigning another ``uri`` renders anew.
        self._text_of: URI | None = uri if uri_text is not None else None
        self._uri_text = uri_text or ""

    def __bytes__(self) -> bytes:
        uri = self.uri
        if uri is not self._text_of:
            self._text_of = uri
            self._uri_text = str(uri)
        return f"{self.method} {self._uri_text} SIP/2.0\r\n{self.headers}".encode() + self.body
