"""The registration usage, one behaviour at a time."""

from __future__ import annotations

import random
import re

import pytest
from sip_auth_fixtures import credential_params
from sipmessage import Request, Response

from protocols.sip import CancelTimer, LocalProtocolError, Send, StartTimer
from protocols.sip.digest import DigestCredentials
from protocols.sip.digest_header import DigestChallenge
from protocols.sip.digest_verifier import DigestVerifier, Verdict
from protocols.sip.message import parse_message
from protocols.sip.registration import Registration, RegistrationOutput
from protocols.sip.registration_events import (
    Registered,
    RegistrationFailed,
    RegistrationState,
    Unregistered,
)
from protocols.sip.replies import response_to

AOR = "sip:alice@example.com"


def new_registration(seed: int = 1, **kwargs: object) -> Registration:
    options: dict[str, object] = {"expires": 600, "rng": random.Random(seed)}
    options.update(kwargs)
    return Registration(
        aor=AOR,
        credentials=DigestCredentials("alice", "s3cret"),
        **options,  # type: ignore[arg-type]
    )


def sent(outputs: list[RegistrationOutput]) -> Request:
    (request,) = [o.message for o in outputs if isinstance(o, Send)]
    assert isinstance(request, Request)
    return request


def events(outputs: list[RegistrationOutput]) -> list[object]:
    return [o for o in outputs if isinstance(o, Registered | RegistrationFailed | Unregistered)]


def ok(request: Request, contact_expires: int | None = None, **headers: str) -> Response:
    response = response_to(request, 200, to_tag="reg")
    contact = request.headers.get("Contact") or ""
    if contact_expires is not None:
        contact = contact.rsplit(";expires=", 1)[0] + f";expires={contact_expires}"
    response.headers.add("Contact", contact)
    for name, value in headers.items():
        response.headers.add(name.replace("_", "-"), value)
    return response


def failure(request: Request, code: int, **headers: str) -> Response:
    response = response_to(request, code, to_tag="reg")
    for name, value in headers.items():
        response.headers.add(name.replace("_", "-"), value)
    return response


def test_register_request_shape_rfc3261_5626_7118() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    assert request.method == "REGISTER"
    assert str(request.uri) == "sip:example.com"
    assert request.headers.get("To") == f"<{AOR}>"
    assert request.headers["From"].startswith(f"<{AOR}>;tag=")
    (via,) = request.via
    assert via.transport == "WSS" and via.host.endswith(".invalid")
    assert (via.parameters.get("branch") or "").startswith("z9hG4bK")
    (contact,) = request.contact
    assert contact.uri.user == "alice" and contact.uri.host == via.host
    assert contact.uri.parameters.get("transport") == "ws"
    instance = contact.parameters.get("+sip.instance") or ""
    assert instance.startswith('"<urn:uuid:') and instance.endswith('>"')
    assert contact.parameters.get("reg-id") == "1"
    assert contact.parameters.get("expires") == "600"
    assert request.headers.get("Expires") == "600"
    assert request.headers.get("Supported") == "path, outbound"
    assert request.headers.get("Max-Forwards") == "70"
    assert request.headers.get("User-Agent") == "kazoo-actors"
    assert request.headers.get("Call-ID") == registration.call_id
    assert str(request.cseq) == "1 REGISTER"
    assert registration.contact == f"sip:alice@{via.host};transport=ws"
    parsed = parse_message(bytes(request))
    assert isinstance(parsed, Request)
    assert parsed.headers.get("Contact") == request.headers.get("Contact")


def test_plain_websocket_uses_ws_in_via() -> None:
    request = sent(new_registration(secure=False).register(0.0))
    assert request.via[0].transport == "WS"


def test_challenge_answered_then_registered() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    registration = new_registration()
    first = sent(registration.register(0.0))
    assert verifier.check(first) is Verdict.MISSING
    second = sent(registration.receive_response(verifier.challenge(first), 0.1))
    assert second.cseq.sequence == 2
    assert second.headers.get("Call-ID") == first.headers.get("Call-ID")
    assert second.via[0].parameters["branch"] != first.via[0].parameters["branch"]
    assert verifier.check(second) is Verdict.ACCEPTED
    outputs = registration.receive_response(ok(second), 0.2)
    assert events(outputs) == [Registered(expires=600, refresh_in=outputs[0].seconds)]  # type: ignore[union-attr]
    assert registration.state is RegistrationState.REGISTERED


def test_refused_credentials_fail_without_another_request() -> None:
    verifier = DigestVerifier("example.com", {"alice": "other"}, rng=random.Random(9))
    registration = new_registration()
    first = sent(registration.register(0.0))
    second = sent(registration.receive_response(verifier.challenge(first), 0.1))
    assert verifier.check(second) is Verdict.REJECTED
    outputs = registration.receive_response(verifier.challenge(second), 0.2)
    assert not any(isinstance(o, Send) for o in outputs)
    (event,) = events(outputs)
    assert isinstance(event, RegistrationFailed) and event.code == 401 and not event.local
    assert registration.state is RegistrationState.FAILED


def test_stale_nonce_is_retried_silently_and_proxy_challenges_answered() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    proxy = DigestVerifier("proxy", {"alice": "s3cret"}, proxy=True, rng=random.Random(8))
    registration = new_registration()
    request = sent(registration.register(0.0))
    request = sent(registration.receive_response(verifier.challenge(request), 0.1))
    verifier.expire_nonces()
    assert verifier.check(request) is Verdict.STALE
    outputs = registration.receive_response(verifier.challenge(request, stale=True), 0.2)
    assert events(outputs) == []
    request = sent(outputs)
    assert verifier.check(request) is Verdict.ACCEPTED
    request = sent(registration.receive_response(proxy.challenge(request), 0.3))
    assert proxy.check(request) is Verdict.ACCEPTED and verifier.check(request) is Verdict.ACCEPTED
    (event,) = events(registration.receive_response(ok(request), 0.4))
    assert isinstance(event, Registered) and event.expires == 600


def test_endless_stale_challenges_give_up() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    registration = new_registration()
    request = sent(registration.register(0.0))
    outputs: list[RegistrationOutput] = []
    for step in range(10):
        outputs = registration.receive_response(verifier.challenge(request, stale=True), step)
        if not any(isinstance(o, Send) for o in outputs):
            break
        request = sent(outputs)
    (event,) = events(outputs)
    assert isinstance(event, RegistrationFailed) and "too many" in event.reason


def test_interval_too_brief_retries_with_min_expires_and_keeps_it() -> None:
    registration = new_registration(expires=60)
    request = sent(registration.register(0.0))
    retry = sent(registration.receive_response(failure(request, 423, Min_Expires="3600"), 0.1))
    assert retry.headers.get("Expires") == "3600"
    assert retry.contact[0].parameters.get("expires") == "3600"
    outputs = registration.receive_response(ok(retry), 0.2)
    assert events(outputs)[0] == Registered(expires=3600, refresh_in=outputs[0].seconds)  # type: ignore[union-attr]
    refresh = sent(registration.timer_fired("refresh", 2000.0))
    assert refresh.headers.get("Expires") == "3600"


@pytest.mark.parametrize("min_expires", [None, "30", "junk"])
def test_unusable_min_expires_fails(min_expires: str | None) -> None:
    registration = new_registration(expires=60)
    request = sent(registration.register(0.0))
    headers = {"Min_Expires": min_expires} if min_expires else {}
    (event,) = events(registration.receive_response(failure(request, 423, **headers), 0.1))
    assert isinstance(event, RegistrationFailed) and event.code == 423


def test_granted_expiry_from_our_contact_beats_expires_header() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    response = ok(request, contact_expires=120, Expires="900")
    response.headers.add("Contact", "<sip:alice@other-device.invalid;transport=ws>;expires=5")
    outputs = registration.receive_response(response, 0.1)
    assert events(outputs)[0].expires == 120  # type: ignore[attr-defined]
    assert registration.expires_at == 120.0


def test_granted_expiry_falls_back_to_expires_header_then_requested() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    response = response_to(request, 200)
    response.headers.add("Expires", "300")
    assert events(registration.receive_response(response, 0.1))[0].expires == 300  # type: ignore[attr-defined]
    request = sent(registration.register(1.0))
    outputs = registration.receive_response(response_to(request, 200), 1.1)
    assert events(outputs)[0].expires == 600  # type: ignore[attr-defined]


@pytest.mark.parametrize("granted", [1, 2, 7, 10, 30, 60, 600, 3600])
def test_refresh_jitter_is_inside_the_window_and_before_expiry(granted: int) -> None:
    delays = []
    for seed in range(200):
        registration = new_registration(seed=seed)
        request = sent(registration.register(100.0))
        outputs = registration.receive_response(ok(request, contact_expires=granted), 100.0)
        (timer,) = [o for o in outputs if isinstance(o, StartTimer)]
        assert timer.name == "refresh"
        delays.append(timer.seconds)
    guard = min(5.0, granted / 2)
    assert all(granted * 0.5 - 1e-9 <= d <= min(granted * 0.85, granted - guard) for d in delays)
    assert max(delays) < granted
    if granted >= 60:
        assert max(delays) - min(delays) > granted * 0.2  # jittered, not a fixed point


def test_slow_response_still_refreshes_before_the_binding_lapses() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    outputs = registration.receive_response(ok(request, contact_expires=60), 58.0)
    (timer,) = [o for o in outputs if isinstance(o, StartTimer)]
    assert 58.0 + timer.seconds < 60.0


def test_503_with_retry_after_and_other_failures() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    (event,) = events(registration.receive_response(failure(request, 503, Retry_After="120"), 1))
    assert event == RegistrationFailed(code=503, reason="Service Unavailable", retry_after=120)
    request = sent(registration.register(2.0))
    (event,) = events(registration.receive_response(failure(request, 403), 3))
    assert event == RegistrationFailed(code=403, reason="Forbidden")


def test_transaction_timeout_and_transport_failure_are_local_failures() -> None:
    registration = new_registration()
    sent(registration.register(0.0))
    (event,) = registration.request_failed("timeout", 32.0)
    assert event == RegistrationFailed(code=408, reason="timeout", local=True)
    sent(registration.register(40.0))
    (event,) = registration.request_failed("connection lost", 41.0, code=503)
    assert isinstance(event, RegistrationFailed) and event.code == 503 and event.local
    assert registration.request_failed("late duplicate", 42.0) == []


def test_unregister_sends_expires_zero_and_reports() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    registration.receive_response(ok(request), 0.1)
    outputs = registration.unregister(10.0)
    assert outputs[0] == CancelTimer(name="refresh")
    request = sent(outputs)
    assert request.headers.get("Expires") == "0"
    assert request.contact[0].parameters.get("expires") == "0"
    assert registration.receive_response(ok(request), 10.1) == [Unregistered(confirmed=True)]
    assert registration.state is RegistrationState.IDLE
    assert registration.expires_at is None


def test_unregister_while_registering_waits_for_the_request_in_flight() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    assert registration.unregister(0.5) == []
    unregister = sent(registration.receive_response(ok(request), 0.6))
    assert unregister.headers.get("Expires") == "0"
    assert unregister.cseq.sequence == request.cseq.sequence + 1
    outputs = registration.receive_response(failure(unregister, 500), 0.7)
    assert outputs == [Unregistered(confirmed=False)]


def test_illegal_calls_raise_local_protocol_error() -> None:
    registration = new_registration()
    registration.register(0.0)
    with pytest.raises(LocalProtocolError, match="register"):
        registration.register(0.1)
    registration.unregister(0.2)
    with pytest.raises(LocalProtocolError, match="unregistering"):
        registration.register(0.3)
    with pytest.raises(LocalProtocolError):
        registration.unregister(0.4)


def test_one_call_id_and_growing_cseq_across_reconnects() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    registration = new_registration()
    seen: list[tuple[str | None, int]] = []
    contact_hosts = set()
    for connection in range(3):
        request = sent(registration.register(connection * 100.0))
        seen.append((request.headers.get("Call-ID"), request.cseq.sequence))
        if connection < 2:
            request = sent(registration.receive_response(verifier.challenge(request), 1.0))
            seen.append((request.headers.get("Call-ID"), request.cseq.sequence))
            registration.receive_response(ok(request), connection * 100.0 + 1)
        contact_hosts.add(request.via[0].host)
        stale_response = ok(request)
        registration.transport_reset(connection * 100.0 + 50, new_contact=connection == 1)
        assert registration.receive_response(stale_response, connection * 100.0 + 51) == []
        assert registration.state is RegistrationState.IDLE
    assert {call_id for call_id, _ in seen} == {registration.call_id}
    sequences = [cseq for _, cseq in seen]
    assert sequences == sorted(set(sequences))
    assert len(contact_hosts) == 2


def test_stray_and_provisional_responses_are_ignored() -> None:
    registration = new_registration()
    request = sent(registration.register(0.0))
    assert registration.receive_response(response_to(request, 100), 0.1) == []
    other = response_to(request, 200)
    other.headers.set("CSeq", "99 REGISTER")
    assert registration.receive_response(other, 0.2) == []
    assert registration.state is RegistrationState.REGISTERING
    assert registration.timer_fired("refresh", 0.3) == []


def test_password_stays_out_of_the_repr() -> None:
    registration = new_registration()
    registration.register(0.0)
    assert "s3cret" not in repr(registration)
    assert "alice@example.com" in repr(registration)


def test_preemptive_credentials_on_refresh_count_the_nonce() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    registration = new_registration()
    request = sent(registration.register(0.0))
    request = sent(registration.receive_response(verifier.challenge(request), 0.1))
    assert verifier.check(request) is Verdict.ACCEPTED
    registration.receive_response(ok(request), 0.2)
    refresh = sent(registration.timer_fired("refresh", 400.0))
    assert credential_params(refresh.headers.get("Authorization") or "")["nc"] == "00000002"
    assert verifier.check(refresh) is Verdict.ACCEPTED


def test_bad_configuration_is_refused_early() -> None:
    with pytest.raises(ValueError):
        Registration(aor="sip:example.com", credentials=DigestCredentials("a", "b"))
    with pytest.raises(ValueError):
        Registration(aor=AOR, credentials=DigestCredentials("a", "b"), expires=0)


@pytest.mark.parametrize("secure", [False, True])
def test_typed_values_built_with_the_register_equal_its_text_parsed(secure: bool) -> None:
    """The REGISTER carries its Via and CSeq already typed (the transaction key
    reads them); they must be exactly what parsing its own bytes gives."""
    registration = new_registration(secure=secure)
    first = sent(registration.register(0.0))
    challenged = registration.receive_response(
        failure(first, 401, WWW_Authenticate='Digest realm="example.com", nonce="n1", qop="auth"'),
        0.1,
    )
    for request in (first, sent(challenged)):
        reparsed = parse_message(bytes(request))
        assert request.via == reparsed.via
        assert request.cseq == reparsed.cseq
        assert request.from_address == reparsed.from_address
        assert request.contact == reparsed.contact


def _bob() -> Registration:
    return Registration(
        aor="sip:bob@example.com",
        credentials=DigestCredentials("bob", "s3cret"),
        rng=random.Random(2),
    )


def _alice_and_bob_verifier() -> DigestVerifier:
    return DigestVerifier("example.com", {"alice": "s3cret", "bob": "s3cret"}, rng=random.Random(9))


def _registered_after_challenge(
    registration: Registration, verifier: DigestVerifier
) -> tuple[Request, DigestChallenge]:
    """Register through one challenge; the accepted REGISTER and the challenge to share."""
    first = sent(registration.register(0.0))
    second = sent(registration.receive_response(verifier.challenge(first), 0.1))
    registration.receive_response(ok(second), 0.2)
    accepted = registration.take_accepted_challenge()
    assert accepted is not None
    return second, accepted


def test_an_accepted_challenge_is_handed_out_once_and_another_registration_can_adopt_it() -> None:
    verifier = _alice_and_bob_verifier()
    alice = new_registration()
    second, accepted = _registered_after_challenge(alice, verifier)
    assert accepted.nonce == credential_params(second.headers.get("Authorization") or "")["nonce"]
    assert alice.take_accepted_challenge() is None

    bob = _bob()
    assert bob.adopt_challenge(accepted)
    borrowed = sent(bob.register(1.0))
    params = credential_params(borrowed.headers.get("Authorization") or "")
    assert (params["username"], params["nonce"], params["nc"]) == (
        "bob",
        accepted.nonce,
        "00000001",
    )
    assert verifier.check(borrowed) is Verdict.ACCEPTED  # one request, no challenge
    assert isinstance(events(bob.receive_response(ok(borrowed), 1.1))[0], Registered)
    assert bob.take_accepted_challenge() is None  # borrowed, not received: not his to share


def test_a_borrowed_nonce_the_registrar_refuses_is_answered_like_a_first_challenge() -> None:
    verifier = _alice_and_bob_verifier()
    _, accepted = _registered_after_challenge(new_registration(), verifier)
    verifier.expire_nonces()  # e.g. the registrar restarted

    bob = _bob()
    bob.adopt_challenge(accepted)
    borrowed = sent(bob.register(1.0))
    assert verifier.check(borrowed) is not Verdict.ACCEPTED
    # Not stale, not our own nonce: still no reason to think the password wrong.
    retry = sent(bob.receive_response(verifier.challenge(borrowed), 1.1))
    assert verifier.check(retry) is Verdict.ACCEPTED
    assert isinstance(events(bob.receive_response(ok(retry), 1.2))[0], Registered)
    assert bob.take_accepted_challenge() is not None  # received himself: his to share


def test_a_lost_connection_forgets_the_challenge_not_yet_handed_out() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    registration = new_registration()
    first = sent(registration.register(0.0))
    second = sent(registration.receive_response(verifier.challenge(first), 0.1))
    registration.receive_response(ok(second), 0.2)
    registration.transport_reset(5.0)
    assert registration.take_accepted_challenge() is None


def _borrowing_bob(nonce_owner: Registration, verifier: DigestVerifier) -> Registration:
    _, accepted = _registered_after_challenge(nonce_owner, verifier)
    bob = _bob()
    bob.adopt_challenge(accepted)
    return bob


def test_a_403_to_a_borrowed_nonce_is_retried_afresh_and_reported_as_refused_sharing() -> None:
    verifier = _alice_and_bob_verifier()
    bob = _borrowing_bob(new_registration(), verifier)
    borrowed = sent(bob.register(1.0))
    # A registrar that forbids credentials for a nonce it did not give this user.
    fresh = sent(bob.receive_response(failure(borrowed, 403), 1.1))
    assert fresh.headers.get("Authorization") is None
    assert not events(bob.receive_response(failure(borrowed, 403), 1.1))  # stale CSeq: ignored
    answered = sent(bob.receive_response(verifier.challenge(fresh), 1.2))
    assert verifier.check(answered) is Verdict.ACCEPTED
    assert isinstance(events(bob.receive_response(ok(answered), 1.3))[0], Registered)
    assert bob.take_adoption_refused()
    assert not bob.take_adoption_refused()


def test_a_403_that_stays_after_the_fresh_retry_is_forbidden_not_a_sharing_problem() -> None:
    verifier = _alice_and_bob_verifier()
    bob = _borrowing_bob(new_registration(), verifier)
    borrowed = sent(bob.register(1.0))
    fresh = sent(bob.receive_response(failure(borrowed, 403), 1.1))
    (event,) = events(bob.receive_response(failure(fresh, 403), 1.2))
    assert isinstance(event, RegistrationFailed) and event.code == 403
    assert not bob.take_adoption_refused()


def test_a_403_to_our_own_credentials_is_forbidden_at_once() -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, rng=random.Random(9))
    registration = new_registration()
    first = sent(registration.register(0.0))
    second = sent(registration.receive_response(verifier.challenge(first), 0.1))
    (event,) = events(registration.receive_response(failure(second, 403), 0.2))
    assert isinstance(event, RegistrationFailed) and event.code == 403


def test_each_registration_draws_its_own_contact_host_call_id_and_tag() -> None:
    token = r"[a-z0-5]"
    seen: set[str] = set()
    for seed in range(20):
        request = sent(new_registration(seed).register(0.0))
        call_id = request.headers.get("Call-ID") or ""
        tag = request.from_address.parameters.get("tag") or ""
        host = request.contact[0].uri.host
        assert re.fullmatch(rf"{token}{{22}}", call_id)
        assert re.fullmatch(rf"{token}{{10}}", tag)
        assert re.fullmatch(rf"{token}{{12}}\.invalid", host)
        assert request.via[0].host == host
        seen.update((call_id, tag, host))
    assert len(seen) == 60
