"""Requests and responses the transaction and dialog tests are built from."""

from __future__ import annotations

from sipmessage import Message, Request, Response

from protocols.sip.replies import response_to


def make_request(
    method: str = "INVITE",
    *,
    branch: str = "z9hG4bKclient1",
    cseq: int = 1,
    routes: tuple[str, ...] = ("<sip:proxy.example.com;lr>",),
    contact: str | None = "<sip:alice@192.0.2.10:5060;transport=ws>",
    to: str = "<sip:bob@example.com>",
    from_tag: str = "alicetag",
    call_id: str = "call-1@example.com",
    via_host: str = "df7jal23ls0d.invalid",
    record_routes: tuple[str, ...] = (),
) -> Request:
    lines = [
        f"{method} sip:bob@example.com SIP/2.0",
        f"Via: SIP/2.0/WSS {via_host};branch={branch};rport",
        *(f"Route: {route}" for route in routes),
        *(f"Record-Route: {route}" for route in record_routes),
        "Max-Forwards: 70",
        f'From: "Alice" <sip:alice@example.com>;tag={from_tag}',
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        *([f"Contact: {contact}"] if contact else []),
        "Content-Length: 0",
    ]
    message = Message.parse(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def make_response(
    request: Request,
    code: int,
    *,
    to_tag: str | None = "bobtag",
    contact: str | None = None,
    record_routes: tuple[str, ...] = (),
) -> Response:
    response = response_to(request, code, to_tag=to_tag)
    for route in record_routes:
        response.headers.add("Record-Route", route)
    if contact:
        response.headers.add("Contact", contact)
    return response
