"""RFC 3842 bodies as a voicemail server writes them, for the lab notifier."""

from __future__ import annotations

import attrs

CONTENT_TYPE = "application/simple-message-summary"


@attrs.frozen(kw_only=True)
class VoicemailCounts:
    """The voice-message line of a message-summary: new/old (urgent new/urgent old)."""

    new: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    old: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    urgent_new: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    urgent_old: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    @property
    def waiting(self) -> bool:
        return self.new > 0


def message_summary_body(counts: VoicemailCounts, account: str | None = None) -> bytes:
    """``Messages-Waiting``, the optional ``Message-Account`` and one ``Voice-Message`` line."""
    lines = [f"Messages-Waiting: {'yes' if counts.waiting else 'no'}"]
    if account is not None:
        lines.append(f"Message-Account: {account}")
    lines.append(
        f"Voice-Message: {counts.new}/{counts.old} ({counts.urgent_new}/{counts.urgent_old})"
    )
    return ("\r\n".join(lines) + "\r\n").encode()
