"""RFC 3842 message-summary bodies (``application/simple-message-summary``).

The whole body is read: the status line, the account, one summary line per
message-context class (RFC 3458: voice, fax, pager, multimedia, text, none,
and classes not invented yet), and the optional message headers after a blank
line. Names and yes/no are case-insensitive and whitespace around separators
is tolerated; anything else malformed is a ParseError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ParseError

CONTENT_TYPE = "application/simple-message-summary"

_COUNTS = re.compile(r"(\d{1,9})\s*/\s*(\d{1,9})(?:\s*\(\s*(\d{1,9})\s*/\s*(\d{1,9})\s*\))?")
_NAME = re.compile(r"[!%'*+\-.0-9A-Z_`a-z~]+")
KNOWN_CLASSES = frozenset(
    ["voice-message", "fax-message", "pager-message", "multimedia-message", "text-message", "none"]
)


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageCounts:
    new: int
    old: int
    urgent_new: int = 0
    urgent_old: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageSummary:
    messages_waiting: bool
    account: str | None = None
    counts: tuple[tuple[str, MessageCounts], ...] = ()
    """(message-context class in lower case, counts), in body order."""
    message_headers: tuple[tuple[str, str], ...] = ()

    def count(self, context_class: str) -> MessageCounts | None:
        wanted = context_class.lower()
        for name, counts in self.counts:
            if name == wanted:
                return counts
        return None

    @property
    def voice(self) -> MessageCounts | None:
        return self.count("voice-message")


def _header_lines(lines: list[str]) -> list[tuple[str, str]]:
    """Name/value pairs; a line starting with whitespace continues the previous one."""
    pairs: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not pairs:
                raise ParseError("message-summary starts with a continuation line")
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not _NAME.fullmatch(name.strip()):
            raise ParseError(f"malformed message-summary line: {line[:40]!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _counts(name: str, value: str) -> MessageCounts:
    match = _COUNTS.fullmatch(value)
    if match is None:
        raise ParseError(f"malformed {name} counts: {value[:40]!r}")
    new, old, urgent_new, urgent_old = match.groups()
    return MessageCounts(
        new=int(new), old=int(old), urgent_new=int(urgent_new or 0), urgent_old=int(urgent_old or 0)
    )


def parse_message_summary(body: bytes) -> MessageSummary:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("message-summary body is not UTF-8") from exc
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    try:
        blank = next(i for i, line in enumerate(lines) if not line.strip())
    except StopIteration:
        blank = len(lines)
    summary, rest = lines[:blank], [line for line in lines[blank:] if line.strip()]

    waiting: bool | None = None
    account: str | None = None
    counts: dict[str, MessageCounts] = {}
    for name, value in _header_lines(summary):
        key = name.lower()
        if key == "messages-waiting":
            if waiting is not None:
                raise ParseError("Messages-Waiting appears twice")
            if value.lower() not in ("yes", "no"):
                raise ParseError(f"Messages-Waiting is neither yes nor no: {value[:20]!r}")
            waiting = value.lower() == "yes"
        elif key == "message-account":
            if account is not None or not value:
                raise ParseError("Message-Account is empty or appears twice")
            account = value
        elif key in KNOWN_CLASSES or _COUNTS.fullmatch(value):
            if key in counts:
                raise ParseError(f"{name} appears twice")
            counts[key] = _counts(name, value)
        else:
            raise ParseError(f"unexpected message-summary line {name!r}")
    if waiting is None:
        raise ParseError("message-summary without Messages-Waiting")
    return MessageSummary(
        messages_waiting=waiting,
        account=account,
        counts=tuple(counts.items()),
        message_headers=tuple(_header_lines(rest)),
    )
