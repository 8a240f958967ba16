from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip import ParseError
from protocols.sip.dtmf_relay import build_dtmf_relay, check_digit, parse_dtmf_relay


@pytest.mark.parametrize("digit", list("0123456789*#ABCDabcd"))
def test_every_dtmf_digit_round_trips(digit: str) -> None:
    relay = build_dtmf_relay(digit, 250)
    assert parse_dtmf_relay(relay.to_body()) == relay
    assert relay.digit == digit.upper()


@pytest.mark.parametrize("digit", ["", "E", "12", " ", "x", "ï"])
def test_invalid_digits_are_value_errors(digit: str) -> None:
    with pytest.raises(ValueError, match="invalid DTMF digit"):
        check_digit(digit)


def test_lenient_about_case_spacing_and_line_endings() -> None:
    relay = parse_dtmf_relay(b"signal = #\nDURATION= 100")
    assert (relay.digit, relay.duration_ms) == ("#", 100)
    assert parse_dtmf_relay(b"Signal=5").duration_ms == 160


@pytest.mark.parametrize(
    "body", [b"", b"Signal=", b"Signal=Z", b"Signal=1\r\nDuration=-5", b"\xff\xfe"]
)
def test_malformed_bodies_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_dtmf_relay(body)


@given(st.binary(max_size=64))
def test_any_bytes_give_a_relay_or_parse_error(body: bytes) -> None:
    try:
        relay = parse_dtmf_relay(body)
    except ParseError:
        return
    assert relay.digit in "0123456789*#ABCD"
    assert relay.duration_ms > 0
