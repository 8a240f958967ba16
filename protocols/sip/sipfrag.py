"""message/sipfrag bodies (RFC 3420) as NOTIFYs for a REFER carry them (RFC 3515 s.2.4.5).

Only the start line matters to a transferor: the status of the transfer
attempt, e.g. ``SIP/2.0 200 OK``. Header lines that may follow are checked for
shape and kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ParseError

_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6]\d\d)(?: (.*))?", re.IGNORECASE)
_HEADER_LINE = re.compile(r"([!%'*+\-.0-9A-Z_`a-z~]+)[ \t]*:[ \t]*(.*)")


@dataclass(frozen=True, kw_only=True, slots=True)
class SipFragStatus:
    code: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def final(self) -> bool:
        return self.code >= 200


def parse_sipfrag_status(body: bytes) -> SipFragStatus:
    """The status line (and any headers) of a sipfrag holding a response."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("sipfrag body is not UTF-8") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ParseError("empty sipfrag body")
    status = _STATUS_LINE.fullmatch(lines[0].strip())
    if status is None:
        raise ParseError(f"sipfrag does not start with a status line: {lines[0][:40]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line.strip():
            break  # a body of the fragment may follow; the transfer status is known
        header = _HEADER_LINE.fullmatch(line.strip())
        if header is None:
            raise ParseError(f"malformed sipfrag header line: {line[:40]!r}")
        headers.append((header.group(1), header.group(2).strip()))
    return SipFragStatus(
        code=int(status.group(1)), reason=(status.group(2) or "").strip(), headers=tuple(headers)
    )
