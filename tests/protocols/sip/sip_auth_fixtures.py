"""Requests and challenge responses for the digest, registration and notify tests."""

from __future__ import annotations

from sipmessage import URI, Request, Response

from protocols.sip.replies import response_to


def make_request(method: str = "REGISTER", uri: str = "sip:example.com", cseq: int = 1) -> Request:
    request = Request(method, URI.parse(uri))
    request.headers.add("Via", "SIP/2.0/WSS abc.invalid;branch=z9hG4bKtest")
    request.headers.add("Max-Forwards", "70")
    request.headers.add("From", "<sip:alice@example.com>;tag=ft")
    request.headers.add("To", "<sip:alice@example.com>")
    request.headers.add("Call-ID", "call-1")
    request.headers.add("CSeq", f"{cseq} {method}")
    request.headers.add("Content-Length", "0")
    return request


def challenge(request: Request, *values: str, code: int = 401) -> Response:
    response = response_to(request, code, to_tag="tt")
    header = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    for value in values:
        response.headers.add(header, value)
    return response


def credential_params(value: str) -> dict[str, str]:
    from protocols.sip.digest_header import parse_challenges

    (item,) = parse_challenges(value)
    assert item.scheme == "Digest"
    return dict(item.params)
