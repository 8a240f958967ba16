"""Server-originated requests injected into a lab Kamailio over UDP.

The lab config trusts requests arriving over UDP from 127.0.0.1: it skips auth and delivers
them to the registered contact of the Request-URI user (usrloc lookup), over that user's
WebSocket. That makes Kamailio play the part of a platform sending MWI or
registration-overwrite NOTIFYs, or stranger requests a client must survive. The final
response tells what the client answered (or 404 when the user is not registered).

These are blocking helpers for tests and tools; from Trio call them through
``trio.to_thread.run_sync``.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Mapping, Sequence

import attrs

from kazoo_actors.lab.ports import LOOPBACK

_T1 = 0.5
_T2 = 4.0
_MAX_DATAGRAM = 65535
# Stands for the sending socket's address until send_request knows it.
VIA_PLACEHOLDER = "@@LOCAL_ADDRESS@@"


@attrs.frozen
class InjectedReply:
    """The final response Kamailio (or, through it, the client) gave to an injected request."""

    code: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


class InjectionTimeout(TimeoutError):
    """No final response arrived in time."""


def build_request(
    method: str,
    user: str,
    realm: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    from_user: str = "lab-injector",
    to_tag: str | None = None,
    call_id: str | None = None,
    cseq: int = 1,
    request_uri: str | None = None,
) -> bytes:
    """A request for ``sip:user@realm`` as an injector would send it.

    The Via carries a ``VIA_PLACEHOLDER`` that :func:`send_request` replaces with the socket's
    real address, and ``rport`` so Kamailio answers to wherever the datagram came from.
    """
    branch = "z9hG4bK-lab-" + secrets.token_hex(8)
    to = f"<sip:{user}@{realm}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} {request_uri or f'sip:{user}@{realm}'} SIP/2.0",
        f"Via: SIP/2.0/UDP {VIA_PLACEHOLDER};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{from_user}@{realm}>;tag={secrets.token_hex(6)}",
        f"To: {to}",
        f"Call-ID: {call_id or secrets.token_hex(12)}@lab",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{from_user}@{VIA_PLACEHOLDER}>",
    ]
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body and content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def inject_notify(
    address: tuple[str, int],
    user: str,
    realm: str,
    *,
    event: str,
    content_type: str | None,
    body: bytes | str = b"",
    subscription_state: str = "active",
    extra_headers: Sequence[tuple[str, str]] = (),
    timeout: float = 5.0,
) -> int:
    """Send an out-of-dialog NOTIFY to ``sip:user@realm`` through Kamailio; the final code."""
    payload = body.encode() if isinstance(body, str) else body
    request = build_request(
        "NOTIFY",
        user,
        realm,
        headers=[("Event", event), ("Subscription-State", subscription_state), *extra_headers],
        body=payload,
        content_type=content_type,
    )
    return send_request(address, request, timeout=timeout).code


def send_request(
    address: tuple[str, int], request: bytes, *, timeout: float = 5.0
) -> InjectedReply:
    """Send raw request bytes over UDP to Kamailio and wait for the final response.

    Retransmits like an RFC 3261 client transaction over UDP (T1 doubling to T2), stops
    retransmitting an INVITE once a provisional response arrives, and acknowledges a non-2xx
    final response to an INVITE so the server transaction ends cleanly. ``VIA_PLACEHOLDER``
    in the request is replaced with the local socket's address.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        local = f"{LOOPBACK}:{sock.getsockname()[1]}"
        data = request.replace(VIA_PLACEHOLDER.encode(), local.encode())
        is_invite = data.startswith(b"INVITE ")
        deadline = time.monotonic() + timeout
        interval = _T1
        next_send = time.monotonic()
        retransmit = True
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise InjectionTimeout(f"no final response from {address} within {timeout} s")
            if retransmit and now >= next_send:
                sock.sendto(data, address)
                next_send = now + interval
                interval = _T2 if not is_invite and interval * 2 > _T2 else interval * 2
            wake = min(deadline, next_send) if retransmit else deadline
            sock.settimeout(max(0.001, wake - now))
            try:
                datagram, _ = sock.recvfrom(_MAX_DATAGRAM)
            except TimeoutError:
                continue
            reply = _parse_response(datagram)
            if reply is None:
                continue
            if reply.code < 200:
                if is_invite:
                    retransmit = False
                continue
            if is_invite and reply.code >= 300:
                sock.sendto(_ack_for(data, reply), address)
            return reply


def _parse_response(datagram: bytes) -> InjectedReply | None:
    """The response in a datagram, or None for anything else: strays are simply not ours."""
    head, _, _ = datagram.partition(b"\r\n\r\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit():
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((_COMPACT.get(name.strip().lower(), name.strip()), value.strip()))
    reason = parts[2] if len(parts) > 2 else ""
    return InjectedReply(code=int(parts[1]), reason=reason, headers=tuple(headers), raw=datagram)


_COMPACT: Mapping[str, str] = {
    "t": "To",
    "f": "From",
    "i": "Call-ID",
    "v": "Via",
    "m": "Contact",
    "c": "Content-Type",
    "l": "Content-Length",
}


def _ack_for(invite: bytes, reply: InjectedReply) -> bytes:
    """The hop-by-hop ACK for a non-2xx answer (RFC 3261 s.17.1.1.3)."""
    head = invite.partition(b"\r\n\r\n")[0].decode()
    lines = head.split("\r\n")
    uri = lines[0].split(" ")[1]
    kept: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = _COMPACT.get(name.strip().lower(), name.strip()).lower()
        if key in ("via", "from", "call-id", "cseq", "max-forwards") and key not in kept:
            kept[key] = value.strip()
    cseq_number = kept["cseq"].split()[0]
    ack = [
        f"ACK {uri} SIP/2.0",
        f"Via: {kept['via']}",
        f"Max-Forwards: {kept.get('max-forwards', '70')}",
        f"From: {kept['from']}",
        f"To: {reply.header('To') or ''}",
        f"Call-ID: {kept['call-id']}",
        f"CSeq: {cseq_number} ACK",
        "Content-Length: 0",
    ]
    return ("\r\n".join(ack) + "\r\n\r\n").encode()
