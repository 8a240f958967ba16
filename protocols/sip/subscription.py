"""A SUBSCRIBE usage (RFC 6665), sans-IO: by default to one's own message-summary.

Kazoo sends voicemail NOTIFYs unsolicited, but a platform may want them asked
for; then an account subscribes to ``message-summary`` (RFC 3842) for its own
address of record and keeps the subscription refreshed.

The owner sends what ``Send`` carries inside a client transaction, feeds back
``receive_response(response, now)``, ``request_failed(now)`` for a timeout or
transport error and ``timer_fired(name, now)``, and gives in-dialog NOTIFYs
that ``matches(request)`` to ``receive_notify(request, now)``, which returns the
status code to answer with (``response_to(request, code)``) and what follows.
Authentication reuses a ``DigestClient`` the owner may share with its
registration, so one nonce serves both.

Events: ``Subscribed(expires, refresh_in)`` on each 2xx, ``NotifyReceived``
with the NOTIFY (the owner classifies its body with ``classify_notify``),
``SubscriptionFailed(code, reason, retry_after)`` and
``SubscriptionEnded(reason, retry_after, may_resubscribe)`` when the notifier
terminated it (section 4.1.3: ``deactivated`` and ``timeout`` invite an
immediate new subscription, ``probation`` and ``giveup`` one after
``retry-after``, others none).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from sipmessage import Parameters, Request, Response, Via

from .actions import CancelTimer, Send, StartTimer
from .address_of_record import parse_aor
from .dialog import Dialog, DialogState, id_for_request
from .digest import ChallengeOutcome, DigestClient
from .errors import LocalProtocolError, ParseError
from .identifiers import new_branch, new_call_id, new_tag
from .message import SipRequest
from .registration_timing import leading_seconds, refresh_delay
from .request_start import start_request

REFRESH_TIMER = "subscription-refresh"
DEFAULT_EXPIRES = 3600
MAX_CHALLENGES = 3
RESUBSCRIBE_NOW = frozenset({"deactivated", "timeout"})
RESUBSCRIBE_LATER = frozenset({"probation", "giveup"})
_SYSTEM_RANDOM = random.SystemRandom()


class SubscriptionState(enum.Enum):
    IDLE = "idle"
    SUBSCRIBING = "subscribing"
    ACTIVE = "active"
    UNSUBSCRIBING = "unsubscribing"


class _Input(enum.Enum):
    SUBSCRIBE = "subscribe"
    ACCEPTED = "2xx"
    REJECTED = "failure"
    UNSUBSCRIBE = "unsubscribe"
    ENDED = "terminated by the notifier"


_S, _I = SubscriptionState, _Input
_TRANSITIONS: dict[tuple[SubscriptionState, _Input], SubscriptionState] = {
    (_S.IDLE, _I.SUBSCRIBE): _S.SUBSCRIBING,
    (_S.ACTIVE, _I.SUBSCRIBE): _S.SUBSCRIBING,
    (_S.SUBSCRIBING, _I.ACCEPTED): _S.ACTIVE,
    (_S.SUBSCRIBING, _I.REJECTED): _S.IDLE,
    (_S.SUBSCRIBING, _I.ENDED): _S.IDLE,
    (_S.ACTIVE, _I.ENDED): _S.IDLE,
    (_S.SUBSCRIBING, _I.UNSUBSCRIBE): _S.UNSUBSCRIBING,
    (_S.ACTIVE, _I.UNSUBSCRIBE): _S.UNSUBSCRIBING,
    (_S.UNSUBSCRIBING, _I.ACCEPTED): _S.IDLE,
    (_S.UNSUBSCRIBING, _I.REJECTED): _S.IDLE,
    (_S.UNSUBSCRIBING, _I.ENDED): _S.IDLE,
}


def _next(state: SubscriptionState, event: _Input) -> SubscriptionState:
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise LocalProtocolError(event.value, state.value, "subscriber") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Subscribed:
    expires: int
    refresh_in: float


@dataclass(frozen=True, kw_only=True, slots=True)
class NotifyReceived:
    request: Request


@dataclass(frozen=True, kw_only=True, slots=True)
class SubscriptionFailed:
    code: int
    reason: str
    retry_after: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SubscriptionEnded:
    reason: str | None
    retry_after: int | None
    may_resubscribe: bool


SubscriptionEvent = Subscribed | NotifyReceived | SubscriptionFailed | SubscriptionEnded
SubscriptionOutput = Send | StartTimer | CancelTimer | SubscriptionEvent


class Subscription:
    """One subscription of ``aor`` to ``event``; reusable after it ends."""

    def __init__(
        self,
        *,
        aor: str,
        contact: str,
        digest: DigestClient,
        event: str = "message-summary",
        accept: str = "application/simple-message-summary",
        expires: int = DEFAULT_EXPIRES,
        secure: bool = True,
        via_host: str | None = None,
        user_agent: str = "kazoo-actors",
        rng: random.Random | None = None,
    ) -> None:
        parse_aor(aor)  # a bad AOR is a configuration error: refused here, not on the wire
        if expires <= 0:
            raise ValueError("expires must be positive")
        self._rng = rng or _SYSTEM_RANDOM
        self._aor = aor
        self._contact = contact
        self._digest = digest
        self._event = event
        self._accept = accept
        self._expires = expires
        self._transport = "WSS" if secure else "WS"
        self._via_host = via_host or f"{new_tag(self._rng)}.invalid"
        self._user_agent = user_agent
        self._state = SubscriptionState.IDLE
        self._dialog: Dialog | None = None
        self._call_id = ""
        self._from_tag = ""
        self._cseq = 0
        self._in_flight: Request | None = None
        self._requested = expires
        self._challenges = 0

    @property
    def state(self) -> SubscriptionState:
        return self._state

    @property
    def dialog(self) -> Dialog | None:
        return self._dialog

    def subscribe(self, now: float) -> list[SubscriptionOutput]:
        """Start (or refresh) the subscription."""
        self._state = _next(self._state, _I.SUBSCRIBE)
        self._challenges = 0
        return [CancelTimer(name=REFRESH_TIMER), self._send(self._expires)]

    def unsubscribe(self, now: float) -> list[SubscriptionOutput]:
        """End it with ``Expires: 0``; nothing to send when never established."""
        if self._state is SubscriptionState.IDLE:
            return []
        self._state = _next(self._state, _I.UNSUBSCRIBE)
        self._challenges = 0
        return [CancelTimer(name=REFRESH_TIMER), self._send(0)]

    def reset(self) -> list[SubscriptionOutput]:
        """The connection under the subscription is gone: forget it without a word.

        A subscription lives on one flow (RFC 5626); after a reconnect the owner
        subscribes again, in a new dialog.
        """
        self._state = SubscriptionState.IDLE
        self._in_flight = None
        self._forget_dialog()
        return [CancelTimer(name=REFRESH_TIMER)]

    def timer_fired(self, name: str, now: float) -> list[SubscriptionOutput]:
        if name != REFRESH_TIMER or self._state is not SubscriptionState.ACTIVE:
            return []
        return self.subscribe(now)

    def request_failed(self, now: float, code: int = 408) -> list[SubscriptionOutput]:
        if self._in_flight is None:
            return []
        return self._fail(code, "no response" if code == 408 else "transport failed", None)

    def receive_response(self, response: Response, now: float) -> list[SubscriptionOutput]:
        request = self._in_flight
        if request is None or not self._answers(request, response) or response.code < 200:
            return []
        if response.code in (401, 407):
            return self._on_challenge(request, response)
        if response.code == 423:
            minimum = leading_seconds(response.headers.get("Min-Expires"))
            if minimum is not None and minimum > self._requested:
                self._expires = minimum
                return [self._send(minimum)]
        if response.code >= 300:
            retry_after = leading_seconds(response.headers.get("Retry-After"))
            return self._fail(response.code, response.phrase, retry_after)
        return self._on_success(request, response, now)

    def matches(self, request: Request) -> bool:
        """Whether ``request`` is a NOTIFY for this subscription."""
        if request.method != "NOTIFY" or not self._call_id:
            return False
        if request.headers.get("Call-ID") != self._call_id:
            return False
        try:
            dialog_id = id_for_request(request)
        except ParseError:
            return False
        return dialog_id.local_tag == self._from_tag

    def receive_notify(
        self, request: SipRequest, now: float
    ) -> tuple[int, list[SubscriptionOutput]]:
        """The status to answer a matching NOTIFY with, and what follows from it."""
        event = request.event
        if event is None or event.package.lower() != self._event:
            return 489, []
        sub_state = request.subscription_state
        if sub_state is None:
            return 400, []
        # A NOTIFY may overtake the 2xx (RFC 6665 s.4.1.2.4); it is accepted and
        # the dialog is made from the 2xx when that arrives.
        if self._dialog is not None and self._dialog.receive_request(request) is not None:
            return 500, []
        outputs: list[SubscriptionOutput] = [NotifyReceived(request=request)]
        if sub_state.state.lower() == "terminated":
            reason = sub_state.reason
            retry_after = _int_or_none(sub_state.parameters.get("retry-after"))
            outputs.extend(self._end(reason, retry_after))
        elif self._state is SubscriptionState.ACTIVE and sub_state.expires is not None:
            # The notifier may shorten the subscription; refresh before its new end.
            delay = refresh_delay(sub_state.expires, now, now, self._rng)
            outputs.append(StartTimer(name=REFRESH_TIMER, seconds=delay))
        return 200, outputs

    def _answers(self, request: Request, response: Response) -> bool:
        return response.headers.get("Call-ID") == self._call_id and response.headers.get(
            "CSeq"
        ) == request.headers.get("CSeq")

    def _send(self, expires: int) -> Send:
        self._requested = expires
        if self._dialog is not None and self._dialog.state is DialogState.CONFIRMED:
            request = self._dialog.create_request("SUBSCRIBE", headers=self._headers(expires))
            self._cseq = self._dialog.local_seq or self._cseq
        else:
            request = self._initial_request(expires)
        self._digest.authorize(request)
        request.headers.set("Content-Length", "0")
        self._in_flight = request
        return Send(message=request)

    def _headers(self, expires: int) -> list[tuple[str, str]]:
        return [
            ("Event", self._event),
            ("Accept", self._accept),
            ("Expires", str(expires)),
            ("User-Agent", self._user_agent),
        ]

    def _initial_request(self, expires: int) -> Request:
        if not self._call_id:
            self._call_id = new_call_id(self._rng)
            self._from_tag = new_tag(self._rng)
        self._cseq += 1
        request = start_request(
            "SUBSCRIBE",
            parse_aor(self._aor),
            via=Via(
                self._transport, self._via_host, parameters=Parameters(branch=new_branch(self._rng))
            ),
            from_=f"<{self._aor}>;tag={self._from_tag}",
            to=f"<{self._aor}>",
            call_id=self._call_id,
            cseq=self._cseq,
        )
        headers = request.headers
        headers.add("Contact", f"<{self._contact}>")
        for name, value in self._headers(expires):
            headers.add(name, value)
        return request

    def _on_challenge(self, request: Request, response: Response) -> list[SubscriptionOutput]:
        verdict = self._digest.handle_challenge(request, response)
        self._challenges += 1
        if verdict.outcome is not ChallengeOutcome.ANSWER or self._challenges > MAX_CHALLENGES:
            return self._fail(response.code, verdict.reason or response.phrase, None)
        return [self._send(self._requested)]

    def _on_success(
        self, request: Request, response: Response, now: float
    ) -> list[SubscriptionOutput]:
        self._in_flight = None
        if self._state is SubscriptionState.UNSUBSCRIBING:
            self._state = _next(self._state, _I.ACCEPTED)
            self._forget_dialog()
            return [
                SubscriptionEnded(reason="unsubscribed", retry_after=None, may_resubscribe=False)
            ]
        if self._dialog is None or self._dialog.state is not DialogState.CONFIRMED:
            self._dialog = Dialog.from_uac(request, response, rng=self._rng)
        else:
            self._dialog.receive_response(response)
        self._state = _next(self._state, _I.ACCEPTED)
        granted = leading_seconds(response.headers.get("Expires"))
        expires = min(granted, self._requested) if granted is not None else self._requested
        delay = refresh_delay(expires, now, now, self._rng)
        return [
            StartTimer(name=REFRESH_TIMER, seconds=delay),
            Subscribed(expires=expires, refresh_in=delay),
        ]

    def _fail(self, code: int, reason: str, retry_after: int | None) -> list[SubscriptionOutput]:
        self._in_flight = None
        unsubscribing = self._state is SubscriptionState.UNSUBSCRIBING
        self._state = _next(self._state, _I.REJECTED)
        self._forget_dialog()
        if unsubscribing:
            return [
                SubscriptionEnded(reason="unsubscribed", retry_after=None, may_resubscribe=False)
            ]
        return [
            CancelTimer(name=REFRESH_TIMER),
            SubscriptionFailed(code=code, reason=reason, retry_after=retry_after),
        ]

    def _end(self, reason: str | None, retry_after: int | None) -> list[SubscriptionOutput]:
        if self._state is SubscriptionState.IDLE:
            return []
        was_unsubscribing = self._state is SubscriptionState.UNSUBSCRIBING
        self._state = _next(self._state, _I.ENDED)
        self._in_flight = None
        self._forget_dialog()
        normalized = (reason or "").lower()
        may_resubscribe = not was_unsubscribing and (
            normalized in RESUBSCRIBE_NOW or normalized in RESUBSCRIBE_LATER or not normalized
        )
        return [
            CancelTimer(name=REFRESH_TIMER),
            SubscriptionEnded(
                reason=reason, retry_after=retry_after, may_resubscribe=may_resubscribe
            ),
        ]

    def _forget_dialog(self) -> None:
        # A new subscription is a new dialog: fresh Call-ID and tag (s.4.1.2.1).
        self._dialog = None
        self._call_id = ""
        self._from_tag = ""


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
