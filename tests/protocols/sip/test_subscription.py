from __future__ import annotations

import random

import pytest

from protocols.sip import (
    CancelTimer,
    DigestClient,
    DigestCredentials,
    LocalProtocolError,
    Send,
    StartTimer,
    parse_message,
    response_to,
)
from protocols.sip.message import SipRequest, SipResponse
from protocols.sip.subscription import (
    REFRESH_TIMER,
    NotifyReceived,
    Subscribed,
    Subscription,
    SubscriptionEnded,
    SubscriptionFailed,
    SubscriptionOutput,
    SubscriptionState,
)

AOR = "sip:alice@example.test"
CHALLENGE = 'Digest realm="example.test", nonce="n1", qop="auth", algorithm=MD5'


def new_subscription(**kwargs: object) -> Subscription:
    rng = random.Random(7)
    options: dict[str, object] = {
        "aor": AOR,
        "contact": "sip:alice@abc.invalid;transport=ws",
        "digest": DigestClient(DigestCredentials("alice", "pw"), rng),
        "rng": rng,
    }
    options.update(kwargs)
    return Subscription(**options)  # type: ignore[arg-type]


def sent(outputs: list[SubscriptionOutput]) -> SipRequest:
    (send,) = [o for o in outputs if isinstance(o, Send)]
    request = parse_message(bytes(send.message))  # what the server would see
    assert isinstance(request, SipRequest)
    return request


def answer(request: SipRequest, code: int, *headers: tuple[str, str]) -> bytes:
    response = response_to(request, code, to_tag="notifier" if code < 300 else "x")
    for name, value in headers:
        response.headers.add(name, value)
    if 200 <= code < 300:
        response.headers.add("Contact", "<sip:mwi@10.0.0.9:5060;transport=ws>")
        response.headers.add("Record-Route", "<sip:proxy.example.test;lr>")
    return bytes(response)


def parsed_response(data: bytes) -> SipResponse:
    message = parse_message(data)
    assert isinstance(message, SipResponse)
    return message


def notify(
    request: SipRequest, state: str, *, event: str = "message-summary", cseq: int = 1
) -> SipRequest:
    data = (
        f"NOTIFY sip:alice@abc.invalid;transport=ws SIP/2.0\r\n"
        f"Via: SIP/2.0/WS proxy.example.test;branch=z9hG4bKn{cseq}\r\n"
        f"Max-Forwards: 69\r\n"
        f"From: <{AOR}>;tag=notifier\r\n"
        f"To: <{AOR}>;tag={request.from_address.parameters['tag']}\r\n"
        f"Call-ID: {request.headers.get('Call-ID')}\r\n"
        f"CSeq: {cseq} NOTIFY\r\n"
        f"Contact: <sip:mwi@10.0.0.9:5060;transport=ws>\r\n"
        f"Event: {event}\r\n"
        f"Subscription-State: {state}\r\n"
        f"Content-Type: application/simple-message-summary\r\n"
        f"Content-Length: 23\r\n\r\n"
        f"Messages-Waiting: yes\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


def established(sub: Subscription) -> SipRequest:
    request = sent(sub.subscribe(0.0))
    outputs = sub.receive_response(parsed_response(answer(request, 202, ("Expires", "1800"))), 0.1)
    assert any(isinstance(o, Subscribed) for o in outputs)
    return request


def test_initial_subscribe_asks_for_message_summary() -> None:
    request = sent(new_subscription().subscribe(0.0))
    assert request.method == "SUBSCRIBE"
    assert str(request.uri) == AOR
    assert request.headers.get("Event") == "message-summary"
    assert request.headers.get("Accept") == "application/simple-message-summary"
    assert request.headers.get("Expires") == "3600"
    assert "tag" not in request.to_address.parameters
    assert request.via[0].transport == "WSS"


def test_challenge_is_answered_once_then_success_schedules_refresh() -> None:
    sub = new_subscription()
    first = sent(sub.subscribe(0.0))
    outputs = sub.receive_response(
        parsed_response(answer(first, 401, ("WWW-Authenticate", CHALLENGE))), 0.1
    )
    second = sent(outputs)
    assert second.headers["Authorization"].startswith("Digest ")
    assert second.cseq.sequence == first.cseq.sequence + 1
    assert second.headers.get("Call-ID") == first.headers.get("Call-ID")
    outputs = sub.receive_response(parsed_response(answer(second, 200, ("Expires", "600"))), 0.2)
    (timer,) = [o for o in outputs if isinstance(o, StartTimer)]
    (event,) = [o for o in outputs if isinstance(o, Subscribed)]
    assert timer.name == REFRESH_TIMER
    assert event.expires == 600
    assert 0 < timer.seconds < 600
    assert sub.state is SubscriptionState.ACTIVE


def test_refresh_goes_inside_the_dialog() -> None:
    sub = new_subscription()
    initial = established(sub)
    refresh = sent(sub.timer_fired(REFRESH_TIMER, 1000.0))
    assert refresh.to_address.parameters["tag"] == "notifier"
    assert refresh.headers.get("Call-ID") == initial.headers.get("Call-ID")
    assert refresh.cseq.sequence > initial.cseq.sequence
    assert str(refresh.uri).startswith("sip:mwi@10.0.0.9")
    assert [str(a.uri) for a in refresh.route] == ["sip:proxy.example.test;lr"]


def test_matching_notify_is_accepted_and_reported() -> None:
    sub = new_subscription()
    initial = established(sub)
    message = notify(initial, "active;expires=1700")
    assert sub.matches(message)
    code, outputs = sub.receive_notify(message, 5.0)
    assert code == 200
    assert any(isinstance(o, NotifyReceived) and o.request is message for o in outputs)
    (timer,) = [o for o in outputs if isinstance(o, StartTimer)]
    assert timer.seconds < 1700


def test_notify_for_another_package_gets_489() -> None:
    sub = new_subscription()
    initial = established(sub)
    code, outputs = sub.receive_notify(notify(initial, "active", event="presence"), 5.0)
    assert (code, outputs) == (489, [])


def test_other_dialogs_do_not_match() -> None:
    sub = new_subscription()
    established(sub)
    other = notify(sent(new_subscription(rng=random.Random(99)).subscribe(0.0)), "active")
    assert not sub.matches(other)


@pytest.mark.parametrize(
    ("reason", "resubscribe"),
    [
        ("timeout", True),
        ("deactivated", True),
        ("giveup", True),
        ("rejected", False),
        ("noresource", False),
    ],
)
def test_terminated_by_the_notifier(reason: str, resubscribe: bool) -> None:
    sub = new_subscription()
    initial = established(sub)
    code, outputs = sub.receive_notify(
        notify(initial, f"terminated;reason={reason};retry-after=30"), 5.0
    )
    assert code == 200
    (ended,) = [o for o in outputs if isinstance(o, SubscriptionEnded)]
    assert (ended.reason, ended.retry_after, ended.may_resubscribe) == (reason, 30, resubscribe)
    assert CancelTimer(name=REFRESH_TIMER) in outputs
    assert sub.state is SubscriptionState.IDLE
    fresh = sent(sub.subscribe(10.0))
    assert fresh.headers.get("Call-ID") != initial.headers.get("Call-ID")
    assert "tag" not in fresh.to_address.parameters


def test_rejection_and_timeout_fail_with_a_code() -> None:
    sub = new_subscription()
    request = sent(sub.subscribe(0.0))
    outputs = sub.receive_response(parsed_response(answer(request, 489)), 0.1)
    assert next(o for o in outputs if isinstance(o, SubscriptionFailed)).code == 489
    sent(sub.subscribe(1.0))
    outputs = sub.request_failed(2.0)
    assert next(o for o in outputs if isinstance(o, SubscriptionFailed)).code == 408
    assert sub.state is SubscriptionState.IDLE


def test_wrong_password_is_not_a_loop() -> None:
    sub = new_subscription()
    first = sent(sub.subscribe(0.0))
    second = sent(
        sub.receive_response(
            parsed_response(answer(first, 401, ("WWW-Authenticate", CHALLENGE))), 0.1
        )
    )
    outputs = sub.receive_response(
        parsed_response(answer(second, 401, ("WWW-Authenticate", CHALLENGE))), 0.2
    )
    assert not [o for o in outputs if isinstance(o, Send)]
    assert next(o for o in outputs if isinstance(o, SubscriptionFailed)).code == 401


def test_unsubscribe_sends_expires_zero_and_ends() -> None:
    sub = new_subscription()
    established(sub)
    request = sent(sub.unsubscribe(50.0))
    assert request.headers.get("Expires") == "0"
    assert request.to_address.parameters["tag"] == "notifier"
    outputs = sub.receive_response(parsed_response(answer(request, 200)), 50.1)
    assert outputs == [
        SubscriptionEnded(reason="unsubscribed", retry_after=None, may_resubscribe=False)
    ]
    assert sub.unsubscribe(60.0) == []


def test_illegal_transition_names_event_state_and_role() -> None:
    sub = new_subscription()
    established(sub)
    sent(sub.unsubscribe(1.0))
    with pytest.raises(LocalProtocolError, match=r"unsubscribe.*unsubscribing.*subscriber"):
        sub.unsubscribe(2.0)


def test_stray_responses_are_ignored() -> None:
    sub = new_subscription()
    request = sent(sub.subscribe(0.0))
    stray = parsed_response(answer(request, 200).replace(b"CSeq: 1 ", b"CSeq: 9 "))
    assert sub.receive_response(stray, 0.1) == []
    assert sub.state is SubscriptionState.SUBSCRIBING


def test_reset_forgets_the_dialog_for_a_fresh_subscription() -> None:
    sub = new_subscription()
    initial = established(sub)
    assert sub.reset() == [CancelTimer(name=REFRESH_TIMER)]
    assert sub.state is SubscriptionState.IDLE
    assert not sub.matches(notify(initial, "active"))
    fresh = sent(sub.subscribe(5.0))
    assert fresh.headers.get("Call-ID") != initial.headers.get("Call-ID")
