"""DigestClient's credentials (cached H(A1), rendered Request-URI, the one-format
fast path) are what the general path computes: ``digest_response`` over a
``DigestInput`` and ``format_digest_credentials`` over every parameter."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from sip_auth_fixtures import make_request

from protocols.sip.digest import DigestClient, DigestCredentials
from protocols.sip.digest_hash import HASHES, DigestInput, digest_response
from protocols.sip.digest_header import DigestChallenge, format_digest_credentials

# Printable text with the characters quoting must escape.
TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12)


def _general(
    credentials: DigestCredentials,
    challenge: DigestChallenge,
    method: str,
    uri: str,
    count: int,
    cnonce_rng: random.Random,
) -> str:
    qop = "auth" if challenge.qop else None
    needs_cnonce = qop is not None or challenge.algorithm.endswith("-sess")
    cnonce = f"{cnonce_rng.getrandbits(64):016x}" if needs_cnonce else ""
    nc = f"{count:08x}"
    inputs = DigestInput(
        algorithm=challenge.algorithm,
        username=credentials.username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc,
        cnonce=cnonce,
    )
    params = [
        ("username", credentials.username, True),
        ("realm", challenge.realm, True),
        ("nonce", challenge.nonce, True),
        ("uri", uri, True),
        ("response", digest_response(inputs, credentials.password), True),
        ("algorithm", challenge.algorithm, False),
    ]
    if cnonce:
        params.append(("cnonce", cnonce, True))
    if challenge.opaque is not None:
        params.append(("opaque", challenge.opaque, True))
    if qop is not None:
        params += [("qop", qop, False), ("nc", nc, False)]
    return format_digest_credentials(params)


@given(
    username=TEXT,
    password=TEXT,
    realm=TEXT,
    nonces=st.lists(
        st.tuples(TEXT, st.sampled_from(sorted(HASHES))),
        min_size=1,
        max_size=3,
        unique_by=lambda pair: pair[0],
    ),
    qop=st.booleans(),
    opaque=st.none() | TEXT,
    methods=st.lists(st.sampled_from(["REGISTER", "INVITE", "SUBSCRIBE"]), min_size=1, max_size=4),
    seed=st.integers(0, 2**32),
)
def test_credentials_equal_the_general_computation(
    username: str,
    password: str,
    realm: str,
    nonces: list[tuple[str, str]],
    qop: bool,
    opaque: str | None,
    methods: list[str],
    seed: int,
) -> None:
    credentials = DigestCredentials(username, password)
    client = DigestClient(credentials, random.Random(seed))
    twin = random.Random(seed)
    # One request (and Request-URI object) per method: their H(A2) and URI text are cached.
    requests = {method: make_request(method) for method in methods}
    # A new nonce each time: the cached H(A1) carries over, unless the algorithm changed.
    for nonce, algorithm in nonces:
        challenge = DigestChallenge(
            realm=realm,
            nonce=nonce,
            algorithm=algorithm,
            qop=("auth",) if qop else (),
            opaque=opaque,
            stale=False,
            proxy=False,
        )
        client.adopt(challenge)
        for count, method in enumerate(methods, start=1):
            request = requests[method]
            client.authorize(request)
            expected = _general(
                credentials, challenge, request.method, str(request.uri), count, twin
            )
            assert request.headers.get("Authorization") == expected


def test_a_new_request_uri_is_rendered_again() -> None:
    client = DigestClient(DigestCredentials("alice", "pw"), random.Random(1))
    client.adopt(
        DigestChallenge(
            realm="r", nonce="n", algorithm="MD5", qop=(), opaque=None, stale=False, proxy=False
        )
    )
    first, second = make_request(), make_request(uri="sip:other.example.com")
    client.authorize(first)
    client.authorize(second)
    assert 'uri="sip:other.example.com"' in (second.headers.get("Authorization") or "")
    assert 'uri="sip:other.example.com"' not in (first.headers.get("Authorization") or "")


def test_credentials_are_what_authorize_adds() -> None:
    challenge = DigestChallenge(
        realm="r", nonce="n", algorithm="MD5", qop=("auth",), opaque=None, stale=False, proxy=True
    )
    building, authorizing = (
        DigestClient(DigestCredentials("a", "pw"), random.Random(3)) for _ in "ab"
    )
    building.adopt(challenge)
    authorizing.adopt(challenge)
    request = make_request()
    for _ in range(2):
        authorizing.authorize(request)
        assert building.credentials(request.method, str(request.uri)) == [
            ("Proxy-Authorization", request.headers.get("Proxy-Authorization"))
        ]


def test_many_request_uris_overflow_the_shared_ha2_cache_safely() -> None:
    challenge = DigestChallenge(
        realm="r", nonce="n", algorithm="MD5", qop=("auth",), opaque=None, stale=False, proxy=False
    )
    credentials = DigestCredentials("a", "pw")
    client = DigestClient(credentials, random.Random(5))
    twin = random.Random(5)
    client.adopt(challenge)
    for count in range(1, 301):
        request = make_request(uri=f"sip:host{count}.example.com")
        client.authorize(request)
        expected = _general(credentials, challenge, "REGISTER", str(request.uri), count, twin)
        assert request.headers.get("Authorization") == expected


@given(
    usernames=st.lists(TEXT, min_size=2, max_size=4, unique=True),
    nonce=TEXT,
    uris=st.lists(st.sampled_from(["sip:example.com", "sip:other.example.com"]), min_size=1),
    seed=st.integers(0, 2**32),
)
def test_clients_sharing_one_challenge_each_get_their_own_credentials(
    usernames: list[str], nonce: str, uris: list[str], seed: int
) -> None:
    # The realm, nonce and uri text and H(A2) are shared by every client that
    # answers this challenge for this request line; the username and response are not.
    challenge = DigestChallenge(
        realm="example.com",
        nonce=nonce,
        algorithm="MD5",
        qop=("auth",),
        opaque=None,
        stale=False,
        proxy=False,
    )
    for username in usernames:
        credentials = DigestCredentials(username, "pw")
        client = DigestClient(credentials, random.Random(seed))
        twin = random.Random(seed)
        client.adopt(challenge)
        for count, uri in enumerate(uris, start=1):
            request = make_request("REGISTER", uri=uri)
            client.authorize(request)
            expected = _general(credentials, challenge, "REGISTER", uri, count, twin)
            assert request.headers.get("Authorization") == expected
