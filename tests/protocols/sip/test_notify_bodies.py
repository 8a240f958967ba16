"""NOTIFY bodies: registration-overwrite, RFC 3842 message-summary, RFC 3420 sipfrag."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sip_auth_fixtures import make_request

from protocols.sip import ParseError
from protocols.sip.message import parse_message
from protocols.sip.message_summary import MessageCounts, MessageSummary, parse_message_summary
from protocols.sip.notify import UnknownNotify, classify_notify
from protocols.sip.registration_overwrite import (
    OverwriteKind,
    OverwriteNotice,
    parse_registration_overwrite,
)
from protocols.sip.sipfrag import SipFragStatus, parse_sipfrag_status

RFC3842_EXAMPLE = (
    b"Messages-Waiting: yes\r\n"
    b"Message-Account: sip:alice@vmail.example.com\r\n"
    b"Voice-Message: 4/8 (1/2)\r\n"
    b"\r\n"
)


def notify(event: str | None, content_type: str | None, body: bytes) -> object:
    request = make_request("NOTIFY", "sip:alice@abc.invalid;transport=ws")
    if event is not None:
        request.headers.add("Event", event)
    if content_type is not None:
        request.headers.add("Content-Type", content_type)
    request.headers.set("Content-Length", str(len(body)))
    request.body = body
    return classify_notify(request)


def test_rfc3842_example() -> None:
    summary = parse_message_summary(RFC3842_EXAMPLE)
    assert summary.messages_waiting
    assert summary.account == "sip:alice@vmail.example.com"
    assert summary.voice == MessageCounts(new=4, old=8, urgent_new=1, urgent_old=2)


def test_every_class_case_whitespace_and_optional_headers() -> None:
    body = (
        b"\r\nmessages-waiting :  NO \n"
        b"VOICE-MESSAGE: 0 / 3\n"
        b"Fax-Message:1/0(0 / 0)\n"
        b"pager-message: 2/2\n"
        b"Multimedia-Message: 0/0\n"
        b"Text-Message: 5/1\n"
        b"None: 0/0\n"
        b"X-Future-Message: 1/1\n"
        b"\n"
        b"To: <alice@example.com>\n"
        b"From: <bob@example.com>\n"
        b"Subject: lunch\n"
        b"  continues here\n"
        b"\n"
        b"Message-Context: voice-message\n"
    )
    summary = parse_message_summary(body)
    assert not summary.messages_waiting and summary.account is None
    assert summary.voice == MessageCounts(new=0, old=3)
    assert summary.count("fax-message") == MessageCounts(new=1, old=0)
    assert [name for name, _ in summary.counts] == [
        "voice-message",
        "fax-message",
        "pager-message",
        "multimedia-message",
        "text-message",
        "none",
        "x-future-message",
    ]
    assert ("Subject", "lunch continues here") in summary.message_headers
    assert ("Message-Context", "voice-message") in summary.message_headers


def test_waiting_without_counts() -> None:
    assert parse_message_summary(b"Messages-Waiting: yes") == MessageSummary(messages_waiting=True)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"Voice-Message: 1/2\r\n",
        b"Messages-Waiting: perhaps\r\n",
        b"Messages-Waiting: yes\r\nMessages-Waiting: no\r\n",
        b"Messages-Waiting: yes\r\nVoice-Message: 1/x\r\n",
        b"Messages-Waiting: yes\r\nVoice-Message: 1/2 (3)\r\n",
        b"Messages-Waiting: yes\r\nVoice-Message: 1/2\r\nVoice-Message: 3/4\r\n",
        b"Messages-Waiting: yes\r\nMessage-Account:\r\n",
        b"Messages-Waiting: yes\r\nthis line has no colon\r\n",
        b"Messages-Waiting: yes\r\nX-Note: words\r\n",
        b"Messages-Waiting: yes\r\n\r\nbody line without colon\r\n",
        b"Messages-Waiting: yes\xff\r\n",
    ],
)
def test_malformed_summaries_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_message_summary(body)


@given(st.binary(max_size=200))
def test_any_summary_bytes_parse_or_raise_parse_error(body: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_message_summary(body)


@pytest.mark.parametrize(
    ("body", "kind", "contact"),
    [
        (
            b"Overwrote:<sip:alice@old.invalid;transport=ws>",
            OverwriteKind.OVERWROTE,
            "<sip:alice@old.invalid;transport=ws>",
        ),
        (
            b"replaced-by: <sip:alice@new.invalid>\r\n",
            OverwriteKind.REPLACED_BY,
            "<sip:alice@new.invalid>",
        ),
        (b"\r\nREPLACED-BY:sip:x@y\r\n\r\n", OverwriteKind.REPLACED_BY, "sip:x@y"),
    ],
)
def test_registration_overwrite(body: bytes, kind: OverwriteKind, contact: str) -> None:
    assert parse_registration_overwrite(body) == OverwriteNotice(kind=kind, contact=contact)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"Overwrote:",
        b"Stolen:<sip:a@b>",
        b"Overwrote <sip:a@b>",
        b"Overwrote:<a>\r\nReplaced-By:<b>",
        b"Overwrote:\xfe",
    ],
)
def test_malformed_overwrite_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_registration_overwrite(body)


def test_sipfrag_status_lines() -> None:
    assert parse_sipfrag_status(b"SIP/2.0 200 OK\r\n") == SipFragStatus(code=200, reason="OK")
    trying = parse_sipfrag_status(b"SIP/2.0 100 Trying")
    assert trying.code == 100 and not trying.final
    with_headers = parse_sipfrag_status(b"SIP/2.0 603 Declined\r\nCSeq: 1 INVITE\r\n\r\n")
    assert with_headers.final and with_headers.headers == (("CSeq", "1 INVITE"),)
    assert parse_sipfrag_status(b"SIP/2.0 486").reason == ""


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n",
        b"INVITE sip:a@b SIP/2.0",
        b"SIP/2.0 99 Odd",
        b"SIP/1.0 200 OK",
        b"SIP/2.0 200 OK\r\nnot a header",
        b"\xff",
    ],
)
def test_malformed_sipfrag_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sipfrag_status(body)


def test_classify_overwrite_summary_and_unknown() -> None:
    overwrite = notify("registration-overwrite", "text/plain", b"Replaced-By:<sip:a@b>")
    assert overwrite == OverwriteNotice(kind=OverwriteKind.REPLACED_BY, contact="<sip:a@b>")
    summary = notify(
        "Message-Summary;id=1", "Application/Simple-Message-Summary; charset=utf-8", RFC3842_EXAMPLE
    )
    assert isinstance(summary, MessageSummary) and summary.voice is not None
    assert notify("check-sync", None, b"") == UnknownNotify(
        event="check-sync", content_type="", body=b""
    )
    assert isinstance(
        notify("message-summary", "text/plain", b"Messages-Waiting: yes"), UnknownNotify
    )
    assert isinstance(
        notify("message-summary", "application/simple-message-summary", b""), UnknownNotify
    )
    assert isinstance(notify(None, None, b"hello"), UnknownNotify)


def test_classify_raises_parse_error_on_a_malformed_known_body() -> None:
    with pytest.raises(ParseError):
        notify("registration-overwrite", "text/plain", b"nonsense")
    with pytest.raises(ParseError):
        notify("message-summary", "application/simple-message-summary", b"Voice-Message: 1/1")


def test_classify_works_on_a_parsed_kazoo_notify_with_compact_headers() -> None:
    raw = (
        b"NOTIFY sip:alice@abc.invalid;transport=ws SIP/2.0\r\n"
        b"v: SIP/2.0/WSS 10.0.0.1;branch=z9hG4bKkazoo\r\n"
        b"f: <sip:alice@example.com>;tag=k1\r\n"
        b"t: <sip:alice@example.com>\r\n"
        b"i: notify-1\r\n"
        b"CSeq: 5 NOTIFY\r\n"
        b"o: message-summary\r\n"
        b"c: application/simple-message-summary\r\n"
        b"l: 94\r\n"
        b"\r\n" + RFC3842_EXAMPLE
    )
    message = parse_message(raw.replace(b"l: 94", b"l: %d" % len(RFC3842_EXAMPLE)))
    assert isinstance(classify_notify(message), MessageSummary)  # type: ignore[arg-type]


def test_classify_refuses_other_methods() -> None:
    with pytest.raises(ValueError):
        classify_notify(make_request("INFO"))


@given(st.binary(max_size=120))
def test_any_overwrite_or_sipfrag_bytes_parse_or_raise_parse_error(body: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_registration_overwrite(body)
    with contextlib.suppress(ParseError):
        parse_sipfrag_status(body)
