"""SIP INFO ``application/dtmf-relay`` bodies: ``Signal=5\\r\\nDuration=160``.

This is how the original library's WebRTC stack sent DTMF. Parsing is lenient
about case, whitespace and line endings, as deployed senders vary; a body with
no valid signal raises ``ParseError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParseError

CONTENT_TYPE = "application/dtmf-relay"
DTMF_DIGITS = frozenset("0123456789*#ABCD")
DEFAULT_DURATION_MS = 160


def check_digit(digit: str) -> str:
    """The digit in canonical form (upper case), or ``ValueError`` naming it."""
    if not isinstance(digit, str) or len(digit) != 1 or digit.upper() not in DTMF_DIGITS:
        raise ValueError(f"invalid DTMF digit {digit!r}: use one of 0-9 * # A-D")
    return digit.upper()


@dataclass(frozen=True, kw_only=True, slots=True)
class DtmfRelay:
    digit: str
    duration_ms: int = DEFAULT_DURATION_MS

    def to_body(self) -> bytes:
        return f"Signal={self.digit}\r\nDuration={self.duration_ms}\r\n".encode("ascii")


def build_dtmf_relay(digit: str, duration_ms: int = DEFAULT_DURATION_MS) -> DtmfRelay:
    if duration_ms <= 0:
        raise ValueError(f"DTMF duration must be positive, got {duration_ms}")
    return DtmfRelay(digit=check_digit(digit), duration_ms=duration_ms)


def parse_dtmf_relay(body: bytes) -> DtmfRelay:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("dtmf-relay body is not UTF-8") from exc
    fields: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    signal = fields.get("signal", "")
    if len(signal) != 1 or signal.upper() not in DTMF_DIGITS:
        raise ParseError(f"dtmf-relay body has no valid Signal: {signal!r}")
    duration_text = fields.get("duration", str(DEFAULT_DURATION_MS))
    if not duration_text.isdigit() or int(duration_text) == 0:
        raise ParseError(f"dtmf-relay body has an invalid Duration: {duration_text!r}")
    return DtmfRelay(digit=signal.upper(), duration_ms=int(duration_text))
