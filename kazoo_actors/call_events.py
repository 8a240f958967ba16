"""What a call tells its program: typed events for ``Call.events()`` and ``Account.events()``.

Callbacks (``RegisterParams``): ``on_incoming(call)`` for a new incoming call,
``on_accepted(event)`` when a call is answered (either way), ``on_hangup(event)``
when an answered call ends, ``on_cancel(event)`` when a call ends before it was
answered (rejected, busy, cancelled by either side, unanswered, failed) with
the seed's cancel details ``code``, ``message`` and ``source`` (who ended it:
``local``, ``remote`` or ``system``), and ``on_transfer(event)`` when the far end
accepted our REFER (202). The original library fired ``onTransfer`` as soon as
the REFER went out; here ``TransferStatus`` events report every stage
(``requested``, ``accepted``, ``progress``, ``succeeded``, ``failed``) and the
callback fires on ``accepted``. After ``succeeded`` the original call is hung up.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

Direction = Literal["outgoing", "incoming"]
Source = Literal["local", "remote", "system"]


def _public(event: Any) -> dict[str, Any]:
    return {
        name: value
        for name, value in attrs.asdict(event, recurse=False).items()
        if name not in ("call", "source_message") and value is not None
    }


@attrs.frozen(kw_only=True)
class CallIncoming:
    """A call arrived (``on_incoming`` gets the ``Call`` itself)."""

    call: Any = attrs.field(eq=False, repr=False)
    call_id: str
    account: str
    caller_name: str
    caller_number: str
    key: str = "incoming_call"
    message: str = "Incoming call."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class CallProgress:
    """The far end is ringing (180) or sent early media (183)."""

    call_id: str
    account: str
    code: int
    reason: str
    early_media: bool = False
    key: str = "call_progress"
    message: str = "Ringing."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class CallAccepted:
    """The call is answered and media is being set up."""

    call_id: str
    account: str
    direction: Direction
    key: str = "accepted"
    message: str = "Call accepted."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class CallHangup:
    """An answered call ended (BYE either way, or its connection failed)."""

    call_id: str
    account: str
    code: int
    reason: str
    source: Source
    key: str = "hangup"
    message: str = "Call ended."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class CallCancel:
    """A call ended before it was answered: the seed's cancel details."""

    call_id: str
    account: str
    code: int
    message: str
    source: Source
    outcome: str
    key: str = "cancel"

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class DtmfReceived:
    """A digit from the far end, by SIP INFO (``info``) or RFC 4733 (``rfc4733``)."""

    call_id: str
    account: str
    digit: str
    duration_ms: int
    method: Literal["info", "rfc4733"]
    key: str = "dtmf"
    message: str = "DTMF received."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class RemoteHold:
    """The far end put the call on hold (``sendonly``/``inactive``) or resumed it."""

    call_id: str
    account: str
    on_hold: bool
    direction: str
    key: str = "remote_hold"
    message: str = "The far end changed the call's media direction."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


TransferStage = Literal["requested", "accepted", "progress", "succeeded", "failed"]


@attrs.frozen(kw_only=True)
class TransferStatus:
    """A stage of a blind transfer we asked for (or, ``incoming=True``, were asked for)."""

    call_id: str
    account: str
    stage: TransferStage
    target: str
    code: int | None = None
    reason: str | None = None
    incoming: bool = False
    key: str = "transfer"
    message: str = "Transfer status."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


@attrs.frozen(kw_only=True)
class MuteChanged:
    call_id: str
    account: str
    muted: bool
    key: str = "mute"
    message: str = "Microphone muted state changed."

    def as_dict(self) -> dict[str, Any]:
        return _public(self)


CallEvent = (
    CallIncoming
    | CallProgress
    | CallAccepted
    | CallHangup
    | CallCancel
    | DtmfReceived
    | RemoteHold
    | TransferStatus
    | MuteChanged
)
