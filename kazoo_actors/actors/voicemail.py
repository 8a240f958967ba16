"""The account's voicemail role: a message-summary subscription when the program asks for one.

Kazoo sends ``message-summary`` NOTIFYs unsolicited (``server_requests``
reports those); with ``RegisterParams(subscribe_voicemail=True)`` the account
also SUBSCRIBEs to its own mailbox once registered, keeps the subscription
refreshed on the same connection, subscribes again after a reconnect or when
the notifier ends it with a reason that allows it, and unsubscribes on logout.
Like the registration role, it runs inside the account's task: only accounts
that ask for it pay for it.
"""

from __future__ import annotations

import logging
import random

import attrs
from sipmessage import Request, Response

from kazoo_actors import events
from kazoo_actors.actors.server_requests import voicemail_notification
from kazoo_actors.actors.timer_names import prefixed
from kazoo_actors.params import RegisterParams
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.digest import DigestClient, DigestCredentials
from protocols.sip.errors import ParseError
from protocols.sip.message import SipRequest
from protocols.sip.message_summary import parse_message_summary
from protocols.sip.subscription import (
    NotifyReceived,
    Subscribed,
    Subscription,
    SubscriptionEnded,
    SubscriptionFailed,
    SubscriptionOutput,
    SubscriptionState,
)

log = logging.getLogger("kazoo_actors.voicemail")

Action = Send | StartTimer | CancelTimer

TIMER_PREFIX = "mwi/"
RESUBSCRIBE_TIMER = "resubscribe"
RETRY_AFTER_FAILURE = 60.0
"""Seconds before subscribing again after a timeout or a 5xx without Retry-After."""


@attrs.frozen(kw_only=True)
class NotifyAnswer:
    code: int
    actions: list[Action]
    events: list[events.Notification]


class VoicemailRole:
    """One subscription per connection: it is made with the contact of that flow."""

    __slots__ = ("_account", "_digest", "_params", "_rng", "_usage")

    def __init__(
        self, params: RegisterParams, *, account: str, rng: random.Random | None = None
    ) -> None:
        self._params = params
        self._account = account
        self._rng = rng
        self._digest = DigestClient(
            DigestCredentials.from_private_identity(
                params.private_identity, params.password, params.realm
            ),
            rng,
        )
        self._usage: Subscription | None = None

    @property
    def active(self) -> bool:
        return self._usage is not None and self._usage.state is SubscriptionState.ACTIVE

    def owns_timer(self, name: str) -> bool:
        return name.startswith(TIMER_PREFIX)

    def claims(self, request: Request) -> bool:
        return self._usage is not None and self._usage.matches(request)

    def subscribe(self, now: float, contact: str) -> list[Action]:
        if self._usage is not None and self._usage.state is not SubscriptionState.IDLE:
            return []
        params = self._params
        self._usage = Subscription(
            aor=params.aor,
            contact=contact,
            digest=self._digest,
            secure=(params.ws_url or "").startswith("wss:"),
            user_agent=params.user_agent,
            rng=self._rng,
        )
        return self._actions(self._usage.subscribe(now))

    def unsubscribe(self, now: float) -> list[Action]:
        return self._actions(self._usage.unsubscribe(now)) if self._usage else []

    def connection_lost(self) -> list[Action]:
        usage, self._usage = self._usage, None
        lost = self._actions(usage.reset()) if usage else []
        return [*lost, self._cancel_resubscribe()]

    def timer_fired(self, name: str, now: float, contact: str) -> list[Action]:
        short = name[len(TIMER_PREFIX) :]
        if short == RESUBSCRIBE_TIMER:
            return self.subscribe(now, contact)
        return self._actions(self._usage.timer_fired(short, now)) if self._usage else []

    def final_response(self, response: Response, now: float) -> list[Action]:
        return self._actions(self._usage.receive_response(response, now)) if self._usage else []

    def request_failed(self, code: int, now: float) -> list[Action]:
        return self._actions(self._usage.request_failed(now, code=code)) if self._usage else []

    def receive_notify(self, request: Request, now: float) -> NotifyAnswer:
        if self._usage is None or not isinstance(request, SipRequest):
            return NotifyAnswer(code=481, actions=[], events=[])
        code, outputs = self._usage.receive_notify(request, now)
        notifications = []
        for item in outputs:
            if isinstance(item, NotifyReceived) and item.request.body.strip():
                try:
                    summary = parse_message_summary(item.request.body)
                except ParseError as exc:
                    log.warning("account %s: unreadable message-summary: %s", self._account, exc)
                    continue
                notifications.append(voicemail_notification(summary))
        return NotifyAnswer(code=code, actions=self._actions(outputs), events=notifications)

    def _actions(self, outputs: list[SubscriptionOutput]) -> list[Action]:
        actions: list[Action] = []
        for item in outputs:
            if isinstance(item, StartTimer | CancelTimer):
                actions.append(prefixed(item, TIMER_PREFIX))
            elif isinstance(item, Send):
                actions.append(item)
            elif isinstance(item, Subscribed):
                log.debug("account %s: voicemail subscription for %ss", self._account, item.expires)
            elif isinstance(item, SubscriptionFailed):
                log.info(
                    "account %s: voicemail subscription failed: %s %s",
                    self._account,
                    item.code,
                    item.reason,
                )
                if item.code == 408 or item.code >= 500:
                    delay = item.retry_after or RETRY_AFTER_FAILURE
                    actions.append(self._resubscribe_in(delay))
            elif isinstance(item, SubscriptionEnded) and item.may_resubscribe:
                actions.append(self._resubscribe_in(float(item.retry_after or 0)))
        return actions

    def _resubscribe_in(self, seconds: float) -> StartTimer:
        return StartTimer(name=TIMER_PREFIX + RESUBSCRIBE_TIMER, seconds=seconds)

    def _cancel_resubscribe(self) -> CancelTimer:
        return CancelTimer(name=TIMER_PREFIX + RESUBSCRIBE_TIMER)
