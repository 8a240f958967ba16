"""Blind transfer with REFER (RFC 3515) inside a call's dialog, both sides, sans-IO.

Transferor: ``OutgoingRefer(dialog, target=, referred_by=)``. ``start()``
sends the REFER (``Refer-To``, ``Referred-By``); its 2xx means the far end
accepted to try (``TransferAccepted``, the moment the original library fired
``onTransfer``); the implicit ``refer`` subscription then brings NOTIFYs whose
``message/sipfrag`` bodies carry the status of the far end's new call:
``TransferProgress`` for 1xx, and exactly one of ``TransferSucceeded`` (2xx) or
``TransferFailed`` (REFER rejected, 3xx-6xx in the sipfrag, the subscription
terminated without a final status, or no final NOTIFY in ``timeout``).

Transferee: ``IncomingRefer.from_request(dialog, refer)`` reads ``Refer-To``
(ParseError when missing or unusable); ``accept()`` answers 202 and sends the
first NOTIFY (``SIP/2.0 100 Trying``); ``report(code, reason)`` sends a NOTIFY
with the new call's status, terminating the subscription on a final one.

Outputs are those of ``invite_session``: ``Send``, ``Respond``, timers, events.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipmessage import URI, Address, Request, Response

from . import checked_headers
from .actions import CancelTimer, Send, StartTimer
from .configured_uri import SIP_SCHEMES, parse_configured_uri
from .dialog import Dialog, DialogState
from .errors import ParseError
from .replies import response_to
from .respond_action import Respond
from .sipfrag import parse_sipfrag_status

_TRANSFER_SCHEMES = (*SIP_SCHEMES, "tel")

SIPFRAG = "message/sipfrag"
TIMER_REFER = "refer"
DEFAULT_TRANSFER_TIMEOUT = 60.0
SUBSCRIPTION_EXPIRES = 60


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferAccepted:
    code: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferProgress:
    code: int
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferSucceeded:
    code: int
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferFailed:
    code: int
    reason: str


TransferEvent = TransferAccepted | TransferProgress | TransferSucceeded | TransferFailed
ReferOutput = Send | Respond | StartTimer | CancelTimer | TransferEvent


def _reply(request: Request, code: int, reason: str | None = None) -> Respond:
    return Respond(request=request, response=response_to(request, code, reason))


def _subscription_state(request: Request) -> str:
    value = request.headers.get("Subscription-State") or ""
    return value.split(";")[0].strip().lower()


def _is_refer_event(request: Request) -> bool:
    event = (request.headers.get("Event") or request.headers.get("o") or "").strip()
    return event.split(";")[0].strip().lower() == "refer"


class OutgoingRefer:
    """The transferor's REFER and the subscription it creates."""

    __slots__ = (
        "_accepted",
        "_dialog",
        "_finished",
        "_request",
        "referred_by",
        "target",
        "timeout",
    )

    def __init__(
        self,
        dialog: Dialog,
        *,
        target: str,
        referred_by: str,
        timeout: float = DEFAULT_TRANSFER_TIMEOUT,
    ) -> None:
        uri = parse_configured_uri(target, "transfer target", _TRANSFER_SCHEMES)
        self._dialog = dialog
        self.target = str(uri)
        self.referred_by = referred_by
        self.timeout = timeout
        self._request: Request | None = None
        self._accepted = False
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    def is_response_to_us(self, response: Response) -> bool:
        if self._request is None:
            return False
        try:
            ours = checked_headers.cseq(self._request)
            theirs = checked_headers.cseq(response)
        except ParseError:
            return False
        return ours.sequence == theirs.sequence and theirs.method == "REFER"

    def start(self) -> list[ReferOutput]:
        request = self._dialog.create_request(
            "REFER",
            headers=[
                ("Refer-To", f"<{self.target}>"),
                ("Referred-By", f"<{self.referred_by}>"),
            ],
        )
        self._request = request
        return [Send(message=request), StartTimer(name=TIMER_REFER, seconds=self.timeout)]

    def receive_response(self, response: Response) -> list[ReferOutput]:
        if self._finished or response.code < 200:
            return []
        self._dialog.receive_response(response)
        if response.code < 300:
            if self._accepted:
                return []
            self._accepted = True
            return [TransferAccepted(code=response.code)]
        return self._fail(response.code, response.phrase)

    def request_failed(self, code: int, reason: str) -> list[ReferOutput]:
        if self._finished:
            return []
        return self._fail(code, reason)

    def receive_notify(self, notify: Request) -> list[ReferOutput]:
        """A NOTIFY of the ``refer`` event package in our dialog."""
        rejected = self._dialog.receive_request(notify)
        if rejected is not None:
            return [_reply(notify, rejected.code, rejected.phrase)]
        if not _is_refer_event(notify):
            return [_reply(notify, 489)]
        try:
            status = parse_sipfrag_status(notify.body)
        except ParseError:
            return [_reply(notify, 400, "Bad sipfrag body")]
        out: list[ReferOutput] = [_reply(notify, 200)]
        if self._finished:
            return out
        if not self._accepted:
            # A NOTIFY may overtake the 202 (RFC 3515 s.2.4.4): it implies acceptance.
            self._accepted = True
            out.append(TransferAccepted(code=202))
        if status.final:
            if status.code < 300:
                self._finished = True
                out += [CancelTimer(name=TIMER_REFER)]
                out.append(TransferSucceeded(code=status.code, reason=status.reason))
            else:
                out += self._fail(status.code, status.reason)
        elif _subscription_state(notify) == "terminated":
            out += self._fail(status.code, "subscription terminated without a final status")
        else:
            out.append(TransferProgress(code=status.code, reason=status.reason))
        return out

    def timer_fired(self, name: str) -> list[ReferOutput]:
        if name != TIMER_REFER or self._finished:
            return []
        return self._fail(408, "no final transfer status in time")

    def _fail(self, code: int, reason: str) -> list[ReferOutput]:
        self._finished = True
        return [CancelTimer(name=TIMER_REFER), TransferFailed(code=code, reason=reason)]


class IncomingRefer:
    """The transferee's side: the REFER we were sent and the NOTIFYs we owe."""

    __slots__ = ("_dialog", "_done", "_request", "referred_by", "target")

    def __init__(self, dialog: Dialog, request: Request, target: str, referred_by: str) -> None:
        self._dialog = dialog
        self._request = request
        self.target = target
        self.referred_by = referred_by
        self._done = False

    @classmethod
    def from_request(cls, dialog: Dialog, request: Request) -> IncomingRefer:
        """ParseError for a REFER without a usable SIP ``Refer-To``."""
        value = request.headers.get("Refer-To") or request.headers.get("r")
        if not value:
            raise ParseError("REFER without Refer-To")
        try:
            uri = Address.parse(value.strip()).uri
        except ValueError as exc:
            raise ParseError(f"invalid Refer-To: {exc}") from None
        if uri.scheme not in ("sip", "sips"):
            raise ParseError(f"Refer-To is not a SIP URI: {value[:60]!r}")
        # Header parameters (e.g. ?Replaces=) are for attended transfer, not done here.
        target = str(URI(scheme=uri.scheme, host=uri.host, user=uri.user, port=uri.port))
        referred_by = (request.headers.get("Referred-By") or "").strip()
        return cls(dialog, request, target, referred_by)

    @property
    def finished(self) -> bool:
        return self._done

    def accept(self) -> list[ReferOutput]:
        rejected = self._dialog.receive_request(self._request)
        if rejected is not None:
            self._done = True
            return [_reply(self._request, rejected.code, rejected.phrase)]
        return [_reply(self._request, 202), *self._notify(100, "Trying")]

    def reject(self, code: int = 603) -> list[ReferOutput]:
        self._done = True
        return [_reply(self._request, code)]

    def report(self, code: int, reason: str) -> list[ReferOutput]:
        """Tell the transferor how the call to the target goes (final codes end it)."""
        if self._done:
            return []
        return self._notify(code, reason)

    def _notify(self, code: int, reason: str) -> list[ReferOutput]:
        if self._dialog.state is DialogState.TERMINATED:
            self._done = True
            return []
        final = code >= 200
        state = (
            "terminated;reason=noresource" if final else f"active;expires={SUBSCRIPTION_EXPIRES}"
        )
        body = f"SIP/2.0 {code} {reason}\r\n".encode()
        request = self._dialog.create_request(
            "NOTIFY",
            body,
            f"{SIPFRAG};version=2.0",
            headers=[("Event", "refer"), ("Subscription-State", state)],
        )
        self._done = final
        return [Send(message=request)]
