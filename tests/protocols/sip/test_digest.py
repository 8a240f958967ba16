"""Digest authentication: RFC vectors, the client's decisions, header syntax."""

from __future__ import annotations

import logging
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sip_auth_fixtures import challenge, credential_params, make_request
from sip_message_strategies import challenges

from protocols.sip import ParseError
from protocols.sip.digest import (
    ChallengeOutcome,
    DigestClient,
    DigestCredentials,
)
from protocols.sip.digest_hash import DigestInput, digest_response
from protocols.sip.digest_header import (
    DigestChallenge,
    digest_challenge,
    digest_challenges,
    parse_challenges,
)
from protocols.sip.digest_verifier import DigestVerifier, Verdict

RFC7616 = dict(
    username="Mufasa",
    realm="http-auth@example.org",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    method="GET",
    uri="/dir/index.html",
    qop="auth",
    nc="00000001",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)
RFC2617 = dict(
    username="Mufasa",
    realm="testrealm@host.com",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
    method="GET",
    uri="/dir/index.html",
)
CHALLENGE = 'Digest realm="example.com", nonce="n1", qop="auth", opaque="op\\"aque"'


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_vectors(algorithm: str, expected: str) -> None:
    inputs = DigestInput(algorithm=algorithm, **RFC7616)
    assert digest_response(inputs, "Circle of Life") == expected


def test_rfc2617_section_3_5_vector() -> None:
    inputs = DigestInput(algorithm="MD5", qop="auth", nc="00000001", cnonce="0a4f113b", **RFC2617)
    assert digest_response(inputs, "Circle Of Life") == "6629fae49393a05397450978507c4ef1"


def test_rfc2069_legacy_vector_without_qop() -> None:
    inputs = DigestInput(algorithm="MD5", **RFC2617)
    assert digest_response(inputs, "CircleOfLife") == "1949323746fe6a43ef61f9606e7febea"


def test_sess_variants_hash_the_nonces_into_ha1() -> None:
    plain = digest_response(DigestInput(algorithm="SHA-256", **RFC7616), "pw")
    sess = digest_response(DigestInput(algorithm="SHA-256-sess", **RFC7616), "pw")
    assert plain != sess and len(sess) == 64


def client(realm: str | None = None, seed: int = 1) -> DigestClient:
    return DigestClient(DigestCredentials("alice", "s3cret", realm), random.Random(seed))


def test_answer_carries_every_field_and_a_correct_response() -> None:
    request = make_request()
    digest = client()
    verdict = digest.handle_challenge(request, challenge(request, CHALLENGE))
    assert verdict.outcome is ChallengeOutcome.ANSWER and not verdict.stale
    retry = make_request(cseq=2)
    digest.authorize(retry)
    params = credential_params(retry.headers.get("Authorization") or "")
    assert params["username"] == "alice"
    assert params["realm"] == "example.com"
    assert params["nonce"] == "n1"
    assert params["uri"] == "sip:example.com"
    assert params["opaque"] == 'op"aque'
    assert params["qop"] == "auth"
    assert params["nc"] == "00000001"
    assert params["algorithm"] == "MD5"
    inputs = DigestInput(
        algorithm="MD5",
        username="alice",
        realm="example.com",
        nonce="n1",
        method="REGISTER",
        uri="sip:example.com",
        qop="auth",
        nc="00000001",
        cnonce=params["cnonce"],
    )
    assert params["response"] == digest_response(inputs, "s3cret")


def test_cnonce_comes_from_the_injected_rng() -> None:
    values = []
    for _ in range(2):
        request = make_request()
        digest = client(seed=7)
        digest.handle_challenge(request, challenge(request, CHALLENGE))
        digest.authorize(request)
        values.append(credential_params(request.headers.get("Authorization") or "")["cnonce"])
    assert values[0] == values[1]


def test_nonce_count_grows_per_reuse_and_restarts_with_a_new_nonce() -> None:
    request = make_request()
    digest = client()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    counts = []
    for cseq in range(2, 5):
        retry = make_request(cseq=cseq)
        digest.authorize(retry)
        counts.append(credential_params(retry.headers.get("Authorization") or "")["nc"])
    assert counts == ["00000001", "00000002", "00000003"]
    stale = challenge(retry, 'Digest realm="example.com", nonce="n2", qop="auth", stale=true')
    assert digest.handle_challenge(retry, stale).outcome is ChallengeOutcome.ANSWER
    digest.authorize(retry)
    params = credential_params(retry.headers.get("Authorization") or "")
    assert (params["nonce"], params["nc"]) == ("n2", "00000001")


def test_stale_nonce_is_answered_not_refused() -> None:
    request = make_request()
    digest = client()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    digest.authorize(request)
    stale = challenge(request, 'Digest realm="example.com", nonce="n2", qop=auth, stale=TRUE')
    verdict = digest.handle_challenge(request, stale)
    assert verdict.outcome is ChallengeOutcome.ANSWER and verdict.stale


def test_fresh_credentials_challenged_again_are_refused() -> None:
    request = make_request()
    digest = client()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    digest.authorize(request)
    again = challenge(request, 'Digest realm="example.com", nonce="n9", qop="auth"')
    verdict = digest.handle_challenge(request, again)
    assert verdict.outcome is ChallengeOutcome.REFUSED
    assert "example.com" in verdict.reason


def test_reused_nonce_rejected_without_stale_flag_is_answered_once_more() -> None:
    request = make_request()
    digest = client()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    digest.authorize(make_request(cseq=2))
    refresh = make_request(cseq=3)
    digest.authorize(refresh)  # nc=2: a pre-emptive re-use of n1
    renewed = challenge(refresh, 'Digest realm="example.com", nonce="n2", qop="auth"')
    assert digest.handle_challenge(refresh, renewed).outcome is ChallengeOutcome.ANSWER
    digest.authorize(refresh)  # nc=1 with n2; a further challenge now means refusal
    again = challenge(refresh, 'Digest realm="example.com", nonce="n3", qop="auth"')
    assert digest.handle_challenge(refresh, again).outcome is ChallengeOutcome.REFUSED


def test_proxy_challenge_is_answered_in_proxy_authorization() -> None:
    request = make_request("INVITE", "sip:bob@example.com")
    digest = client()
    digest.handle_challenge(request, challenge(request, CHALLENGE, code=407))
    digest.authorize(request)
    assert request.headers.get("Authorization") is None
    params = credential_params(request.headers.get("Proxy-Authorization") or "")
    assert params["uri"] == "sip:bob@example.com"


def test_strongest_algorithm_per_realm_and_one_answer_per_realm() -> None:
    request = make_request()
    response = challenge(
        request,
        'Digest realm="a", nonce="1", qop="auth", algorithm=MD5',
        'Digest realm="a", nonce="2", qop="auth", algorithm=SHA-256',
        'Digest realm="b", nonce="3", algorithm=MD5-sess, Digest realm="b", nonce="4", '
        "algorithm=SHA-512-256",
    )
    digest = client()
    assert digest.handle_challenge(request, response).outcome is ChallengeOutcome.ANSWER
    digest.authorize(request)
    answers = {
        p["realm"]: p for p in map(credential_params, request.headers.getlist("Authorization"))
    }
    assert answers["a"]["algorithm"] == "SHA-256" and answers["a"]["nonce"] == "2"
    assert answers["b"]["algorithm"] == "MD5-sess" and "qop" not in answers["b"]
    assert "cnonce" in answers["b"]  # -sess needs a cnonce even without qop


def test_credentials_realm_restricts_the_answer() -> None:
    request = make_request()
    response = challenge(request, 'Digest realm="other", nonce="1"')
    verdict = client(realm="example.com").handle_challenge(request, response)
    assert verdict.outcome is ChallengeOutcome.UNSUPPORTED
    assert "other" in verdict.reason


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('Digest realm="r", nonce="1", qop="auth-int"', "auth-int"),
        ('Digest realm="r", nonce="1", algorithm=SHA-512-256', "SHA-512-256"),
        ('Basic realm="r"', "no Digest"),
        ('Digest realm="r", nonce="1", qop="auth', "malformed"),
    ],
)
def test_challenges_we_cannot_answer_are_reported_with_the_reason(value: str, why: str) -> None:
    request = make_request()
    verdict = client().handle_challenge(request, challenge(request, value))
    assert verdict.outcome is ChallengeOutcome.UNSUPPORTED
    assert why in verdict.reason


def test_qop_list_with_auth_int_picks_auth() -> None:
    request = make_request()
    digest = client()
    response = challenge(request, 'Digest realm="r", nonce="1", qop="auth-int, auth"')
    digest.handle_challenge(request, response)
    digest.authorize(request)
    assert credential_params(request.headers.get("Authorization") or "")["qop"] == "auth"


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"])
@pytest.mark.parametrize("qop", [True, False])
def test_verifier_accepts_what_the_client_computes(algorithm: str, qop: bool) -> None:
    verifier = DigestVerifier(
        "example.com", {"alice": "s3cret"}, algorithm=algorithm, qop=qop, rng=random.Random(3)
    )
    request = make_request()
    digest = client()
    assert verifier.check(request) is Verdict.MISSING
    digest.handle_challenge(request, verifier.challenge(request))
    digest.authorize(request)
    assert verifier.check(request) is Verdict.ACCEPTED
    if qop:
        assert verifier.check(request) is Verdict.REJECTED  # replayed nonce count
    digest.authorize(request)
    assert verifier.check(request) is Verdict.ACCEPTED
    verifier.expire_nonces()
    digest.authorize(request)
    assert verifier.check(request) is Verdict.STALE


def test_verifier_rejects_a_wrong_password() -> None:
    verifier = DigestVerifier("example.com", {"alice": "right"}, rng=random.Random(3))
    request = make_request()
    digest = client()
    digest.handle_challenge(request, verifier.challenge(request))
    digest.authorize(request)
    assert verifier.check(request) is Verdict.REJECTED


def test_password_never_shows_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = DigestCredentials("alice", "s3cret")
    digest = DigestClient(credentials, random.Random(1))
    request = make_request()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    digest.authorize(request)
    logging.getLogger("test").debug("state %r %s %r", credentials, credentials, digest)
    for text in (repr(credentials), str(credentials), repr(digest), caplog.text, bytes(request)):
        assert "s3cret" not in str(text)
    assert "alice" in repr(credentials)


@pytest.mark.parametrize(
    ("identity", "user"),
    [
        ("sip:alice@example.com", "alice"),
        ("alice@example.com", "alice"),
        ("alice", "alice"),
        ("SIPS:bob@x", "bob"),
    ],
)
def test_username_is_the_private_identity_user_part(identity: str, user: str) -> None:
    assert DigestCredentials.from_private_identity(identity, "pw").username == user


def test_the_digest_username_is_the_user_the_account_registers() -> None:
    # Whitespace around the identity and parameters after a bare user are not part of
    # the user, for the Digest username as for the AOR (RegisterParams.auth_user).
    assert DigestCredentials.from_private_identity(" alice ", "pw").username == "alice"
    assert DigestCredentials.from_private_identity("alice;x=1", "pw").username == "alice"
    with pytest.raises(ValueError, match="no user part"):
        DigestCredentials.from_private_identity("sip:@realm", "pw")


def test_credentials_from_an_identity_are_the_credentials_built_directly() -> None:
    made = DigestCredentials.from_private_identity("alice", "pw", "kazoo.test")
    assert type(made) is DigestCredentials
    assert made == DigestCredentials("alice", "pw", "kazoo.test")
    assert DigestCredentials.from_private_identity("alice", "pw").realm is None


def test_private_identity_without_user_is_refused() -> None:
    with pytest.raises(ValueError):
        DigestCredentials.from_private_identity("sip:@example.com", "pw")


def test_challenge_syntax_quoted_commas_escapes_and_several_challenges() -> None:
    first, second = parse_challenges(
        'Digest realm="a, b", nonce="x\\"y", qop="auth,auth-int" , Digest  realm = c ,nonce=n'
    )
    parsed = digest_challenge(first, proxy=False)
    assert parsed is not None
    assert (parsed.realm, parsed.nonce, parsed.qop) == ("a, b", 'x"y', ("auth", "auth-int"))
    assert dict(second.params) == {"realm": "c", "nonce": "n"}


@pytest.mark.parametrize(
    "value", ["", "   ", '"Digest"', 'Digest realm="a', "Digest realm=a b", "Digest realm="]
)
def test_malformed_challenges_raise_parse_error(value: str) -> None:
    with pytest.raises(ParseError):
        parse_challenges(value)


def test_digest_challenge_needs_realm_and_nonce() -> None:
    (item,) = parse_challenges('Digest realm="r"')
    with pytest.raises(ParseError):
        digest_challenge(item, proxy=False)


@given(st.text(max_size=80))
def test_any_challenge_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        for item in parse_challenges(text):
            digest_challenge(item, proxy=True)
    except ParseError:
        pass


# -- credentials for a nonce another client received (RFC 2617 s.3.3) -------------------


def _shared(nonce: str = "shared", realm: str = "example.com") -> DigestChallenge:
    found = digest_challenge(
        parse_challenges(f'Digest realm="{realm}", nonce="{nonce}", qop="auth"')[0], proxy=False
    )
    assert found is not None
    return found


def test_an_adopted_nonce_goes_out_in_the_first_request_with_count_one() -> None:
    digest = client()
    assert digest.adopt(_shared())
    request = make_request()
    digest.authorize(request)
    params = credential_params(request.headers.get("Authorization") or "")
    assert (params["nonce"], params["nc"], params["username"]) == ("shared", "00000001", "alice")


def test_a_challenge_to_an_adopted_nonce_is_answered_not_taken_for_a_wrong_password() -> None:
    digest = client()
    digest.adopt(_shared())
    request = make_request()
    digest.authorize(request)
    own = challenge(request, 'Digest realm="example.com", nonce="own", qop="auth"')
    assert digest.handle_challenge(request, own).outcome is ChallengeOutcome.ANSWER
    retry = make_request(cseq=2)
    digest.authorize(retry)
    assert credential_params(retry.headers.get("Authorization") or "")["nonce"] == "own"
    # Now the server has told us a nonce itself: a further challenge means refusal.
    again = challenge(retry, 'Digest realm="example.com", nonce="n3", qop="auth"')
    assert digest.handle_challenge(retry, again).outcome is ChallengeOutcome.REFUSED


def test_adopting_replaces_an_older_nonce_but_keeps_the_count_of_the_same_one() -> None:
    digest = client()
    request = make_request()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    digest.authorize(make_request(cseq=2))
    assert not digest.adopt(_shared("n1"))  # the nonce we use already
    assert digest.adopt(_shared("newer"))
    later = make_request(cseq=3)
    digest.authorize(later)
    params = credential_params(later.headers.get("Authorization") or "")
    assert (params["nonce"], params["nc"]) == ("newer", "00000001")


def test_a_challenge_of_another_realm_is_not_adopted_when_the_realm_is_fixed() -> None:
    digest = client(realm="example.com")
    assert not digest.adopt(_shared(realm="elsewhere.org"))
    request = make_request()
    digest.authorize(request)
    assert request.headers.get("Authorization") is None


def test_only_challenges_received_and_answered_are_learned_once() -> None:
    digest = client()
    digest.adopt(_shared())
    assert digest.take_learned() is None  # adopted, not received
    request = make_request()
    digest.handle_challenge(request, challenge(request, CHALLENGE))
    learned = digest.take_learned()
    assert learned is not None and learned.nonce == "n1"
    assert digest.take_learned() is None


def test_credentials_for_an_adopted_nonce_are_recognised_and_can_be_dropped() -> None:
    digest = client()
    own = make_request()
    digest.handle_challenge(own, challenge(own, CHALLENGE))
    digest.authorize(own)
    assert not digest.sent_adopted(own)
    other = client()
    other.adopt(_shared())
    borrowed = make_request(cseq=2)
    other.authorize(borrowed)
    assert other.sent_adopted(borrowed)
    other.drop_adopted()
    later = make_request(cseq=3)
    other.authorize(later)
    assert later.headers.get("Authorization") is None


def _fresh_digest_challenges(value: str, proxy: bool) -> object:
    try:
        return tuple(digest_challenge(c, proxy=proxy) for c in parse_challenges(value))
    except ParseError:
        return ParseError


def _remembered_digest_challenges(value: str, proxy: bool) -> object:
    try:
        return digest_challenges(value, proxy)
    except ParseError:
        return ParseError


@given(
    st.one_of(
        challenges(),
        challenges().map(lambda text: text.replace('"', "", 1)),
        st.sampled_from(['Digest realm="r"', "Basic realm=r", 'Digest realm="a", nonce="n", ']),
        st.text(max_size=60),
    ),
    st.booleans(),
)
def test_remembered_digest_challenges_equal_fresh_ones(value: str, proxy: bool) -> None:
    fresh = _fresh_digest_challenges(value, proxy)
    for _ in range(2):  # the first call may fill the memo, the second reads it
        assert _remembered_digest_challenges(value, proxy) == fresh
