"""How an account answers what the server sends outside a dialog (pure function, no I/O)."""

from __future__ import annotations

from sipmessage import Request

from kazoo_actors.actors.server_requests import Answer, answer_request
from kazoo_actors.events import Notification
from protocols.sip.message import parse_message


def _request(method: str, *, to_tag: str = "", headers: str = "", body: str = "") -> bytes:
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"{method} sip:pat@192.0.2.1;transport=ws SIP/2.0\r\n"
        "Via: SIP/2.0/WS 192.0.2.9;branch=z9hG4bKsrv1\r\n"
        "From: <sip:server@kazoo.test>;tag=f1\r\n"
        f"To: <sip:pat@kazoo.test>{tag}\r\n"
        f"Call-ID: c-{method}\r\nCSeq: 7 {method}\r\nMax-Forwards: 69\r\n"
        f"{headers}Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def _answer(raw: bytes) -> Answer:
    request = parse_message(raw)
    assert isinstance(request, Request)
    return answer_request(request)


def test_options_is_answered_200_with_allow() -> None:
    answer = _answer(_request("OPTIONS"))
    assert answer.response.code == 200
    assert answer.response.headers.get("Allow") == "OPTIONS, NOTIFY"
    assert answer.events == [] and not answer.replaced


def test_unknown_method_is_405_and_in_dialog_request_is_481() -> None:
    assert _answer(_request("MESSAGE", body="hi")).response.code == 405
    assert _answer(_request("BYE", to_tag="t9")).response.code == 481


def test_replaced_by_notify_is_200_and_marks_the_account_replaced() -> None:
    answer = _answer(
        _request(
            "NOTIFY",
            headers="Event: registration-overwrite\r\nContent-Type: text/plain\r\n",
            body="Replaced-By:<sip:pat@198.51.100.4;transport=ws>",
        )
    )
    assert answer.response.code == 200 and answer.replaced
    (event,) = answer.events
    assert isinstance(event, Notification)
    assert event.key == "replaced_registration"
    assert event.contact == "<sip:pat@198.51.100.4;transport=ws>"


def test_voicemail_counts_and_an_unreadable_body_is_still_200() -> None:
    answer = _answer(
        _request(
            "NOTIFY",
            headers=(
                "Event: message-summary\r\nContent-Type: application/simple-message-summary\r\n"
            ),
            body="Messages-Waiting: no\r\nVoice-Message: 0/4\r\n",
        )
    )
    (event,) = answer.events
    assert isinstance(event, Notification)
    assert (event.key, event.messages_waiting, event.new_messages, event.old_messages) == (
        "voicemail_notification",
        False,
        0,
        4,
    )
    broken = _answer(
        _request(
            "NOTIFY",
            headers="Event: registration-overwrite\r\nContent-Type: text/plain\r\n",
            body="nonsense without a colon",
        )
    )
    assert broken.response.code == 200
    assert [e.key for e in broken.events] == ["unknown_notification"]
