"""OutgoingRequest serialises exactly as sipmessage's Request does, with the
Request-URI text given, rendered once, or rendered again for a new URI."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st
from sip_message_strategies import uris
from sipmessage import URI, Request

from protocols.sip.outgoing_request import OutgoingRequest

HEADERS = st.lists(
    st.tuples(st.sampled_from(["Via", "From", "To", "X-Thing", "Contact"]), st.text(min_size=0)),
    max_size=6,
)


def _uri(text: str) -> URI:
    try:
        return URI.parse(text)
    except ValueError:
        assume(False)  # sipmessage's own grammar is narrower than the strategy's
        raise


def _general(request: Request) -> bytes:
    return Request.__bytes__(request)


@given(
    first=uris(),
    second=uris(),
    headers=HEADERS,
    body=st.binary(max_size=20),
    given_text=st.booleans(),
)
def test_bytes_equal_sipmessage_serialisation(
    first: str, second: str, headers: list[tuple[str, str]], body: bytes, given_text: bool
) -> None:
    uri = _uri(first)
    request = OutgoingRequest("OPTIONS", uri, body, uri_text=str(uri) if given_text else None)
    for name, value in headers:
        request.headers.add(name, value)
    assert bytes(request) == _general(request)
    assert bytes(request) == _general(request)  # the text taken the first time
    request.uri = _uri(second)
    assert bytes(request) == _general(request)
    request.headers.add("Expires", "0")
    assert bytes(request) == _general(request)
