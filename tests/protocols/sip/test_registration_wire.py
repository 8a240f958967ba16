"""The REGISTER text a Registration renders from its per-account parts is what
rendering every header from its typed value gives (the general path)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from sipmessage import Request, Response, Via

from protocols.sip.actions import Send
from protocols.sip.digest import DigestCredentials
from protocols.sip.digest_header import DigestChallenge
from protocols.sip.message import messages_equal, parse_message
from protocols.sip.registration import Registration, RegistrationOutput
from protocols.sip.replies import response_to
from protocols.sip.transaction_matching import client_key

USERS = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}", fullmatch=True)


def _request(outputs: list[RegistrationOutput]) -> Request:
    (request,) = [o.message for o in outputs if isinstance(o, Send)]
    assert isinstance(request, Request)
    return request


@given(
    seed=st.integers(0, 2**32),
    user=USERS,
    secure=st.booleans(),
    expires=st.integers(1, 100_000),
    reg_id=st.integers(1, 9),
    new_contact=st.booleans(),
)
def test_register_headers_equal_their_general_rendering(
    seed: int, user: str, secure: bool, expires: int, reg_id: int, new_contact: bool
) -> None:
    aor = f"sip:{user}@example.com"
    registration = Registration(
        aor=aor,
        credentials=DigestCredentials(user, "pw"),
        expires=expires,
        secure=secure,
        reg_id=reg_id,
        rng=random.Random(seed),
    )
    if new_contact:
        registration.transport_reset(0.0, new_contact=True)
    request = _request(registration.register(0.0))
    (via,) = request.via
    branch = via.parameters.get("branch")
    general = Via(
        transport="WSS" if secure else "WS",
        host=registration.contact.split("@", 1)[1].split(";", 1)[0],
        parameters=type(via.parameters)(branch=branch),
    )
    assert request.headers.get("Via") == str(general) == str(via)
    from_tag = parse_message(bytes(request)).from_address.parameters.get("tag")
    assert request.headers.get("From") == f"<{aor}>;tag={from_tag}"
    assert request.headers.get("To") == f"<{aor}>"
    assert request.headers.get("Contact") == (
        f'<{registration.contact}>;+sip.instance="<{registration.instance}>";'
        f"reg-id={reg_id};expires={expires}"
    )
    assert request.headers.get("Expires") == str(expires)
    # The un-REGISTER is built from the same parts, with expires 0.
    registration.receive_response(_ok(request), 0.1)
    removal = _request(registration.unregister(1.0))
    assert (removal.headers.get("Contact") or "").endswith(";expires=0")
    assert (removal.headers.get("Via") or "").startswith(f"SIP/2.0/{via.transport} {via.host};")
    assert str(removal.via[0]) == removal.headers.get("Via")


def _ok(request: Request) -> Response:
    response = response_to(request, 200, to_tag="t")
    response.headers.add("Contact", request.headers.get("Contact") or "")
    return response


def test_register_bytes_match_a_hand_built_request() -> None:
    rng = random.Random(7)
    registration = Registration(
        aor="sip:alice@example.com",
        credentials=DigestCredentials("alice", "pw", "example.com"),
        rng=rng,
    )
    registration.adopt_challenge(
        DigestChallenge(
            realm="example.com",
            nonce="abc",
            algorithm="MD5",
            qop=("auth",),
            opaque=None,
            stale=False,
            proxy=False,
        )
    )
    request = _request(registration.register(0.0))
    lines = bytes(request).decode().split("\r\n")
    assert lines[0] == "REGISTER sip:example.com SIP/2.0"
    assert [line.split(":", 1)[0] for line in lines[1:-2]] == [
        "Via",
        "Max-Forwards",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Expires",
        "Supported",
        "User-Agent",
        "Authorization",
        "Content-Length",
    ]
    assert lines[-2:] == ["", ""]


def _challenge(realm: str, proxy: bool) -> DigestChallenge:
    return DigestChallenge(
        realm=realm,
        nonce=f"n-{realm}",
        algorithm="MD5",
        qop=("auth",),
        opaque=None,
        stale=False,
        proxy=proxy,
    )


@given(
    seed=st.integers(0, 2**32),
    proxies=st.lists(st.booleans(), max_size=3),
    expires=st.integers(1, 100_000),
)
def test_register_store_equals_its_parse_with_any_credentials(
    seed: int, proxies: list[bool], expires: int
) -> None:
    """One field per credentials header name (several realms under one name
    share a field, as add() makes them), the kept text is the store's rendering,
    and the transaction key given is the one read back from the wire."""
    registration = Registration(
        aor="sip:alice@example.com",
        credentials=DigestCredentials("alice", "pw"),
        expires=expires,
        rng=random.Random(seed),
    )
    for number, proxy in enumerate(proxies):
        registration.adopt_challenge(_challenge(f"realm{number}", proxy))
    request = _request(registration.register(0.0))
    parsed = parse_message(bytes(request))
    assert messages_equal(request, parsed)
    assert bytes(request) == Request.__bytes__(request)
    assert client_key(request) == client_key(parsed)
    assert request.headers.getlist("Authorization") == parsed.headers.getlist("Authorization")
    assert request.headers.keys()[-1] == "Content-Length"
    assert len(request.headers.getlist("Authorization")) == proxies.count(False)
    assert len(request.headers.getlist("Proxy-Authorization")) == proxies.count(True)
