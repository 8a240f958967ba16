"""An account's calls: which SIP messages go to which call task, and what they send out.

The account actor stays the only task that touches its socket and its
transaction layer (``SipEndpoint``). Calls run as tasks of their own (one per
call, owned by the account's ``CallHost``, made at its first call and ended
with the account's task) and talk to the account through this router:

- out: a call task ``post``s requests and responses here and wakes the
  account's mailbox; the account drains them with ``outbound(endpoint)``,
  which starts client transactions, answers through server transactions and
  hands ACKs for 2xx straight to the transport (they have no transaction).
- in: the account gives every response and failure of a request that is not
  its own to ``route``, and asks ``claims(request)`` for each new request:
  INVITEs that start calls, anything whose Call-ID is a live call, and
  CANCELs (481 when nothing matches). Everything else stays the account's
  (``server_requests``: OPTIONS, out-of-dialog NOTIFY, 481 for unknown dialogs).
- in the account's task: a call whose task is idle takes SIP of its INVITE usage
  there and then (``call_fast_path``), and a signalling-only INVITE is answered
  (and rung) from ``incoming``; what they send is queued without waking the account, which calls
  ``outbound`` before it waits again (``route`` and ``incoming`` are only called
  while it handles what it received or a timer).
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import attrs
import trio
from sipmessage import Request, Via

from kazoo_actors.actors.call import CallActor
from kazoo_actors.actors.call_fast_path import answer_now, hangup_now, place_now, sip_now
from kazoo_actors.actors.call_host import CallHost
from kazoo_actors.actors.call_inbox import CallSettings, ConnectionLost, SipFailed, SipIn
from kazoo_actors.actors.sip_endpoint import (
    EndpointOutput,
    FinalResponse,
    ProvisionalResponse,
    RequestFailed,
    SipEndpoint,
)
from kazoo_actors.call import Call, CallError, NoCurrentCall
from kazoo_actors.call_events import CallEvent
from kazoo_actors.callbacks import invoke_callback
from kazoo_actors.event_feed import EventFeed
from kazoo_actors.params import RegisterParams
from media.options import MediaOptions
from media.sinks import AudioSink
from media.sources import AudioSource
from protocols.sip.actions import Send
from protocols.sip.configured_uri import parse_configured_uri
from protocols.sip.digest import DigestClient, DigestCredentials
from protocols.sip.errors import ParseError
from protocols.sip.replies import response_to
from protocols.sip.respond_action import Respond

log = logging.getLogger("kazoo_actors.calls")

MAX_CALLS = 64
"""Live calls per account; an INVITE beyond this is answered 486."""


@attrs.frozen
class CallWork:
    """Mailbox item: a call task queued messages for the account to send."""


@attrs.define(kw_only=True)
class CallDefaults:
    """How calls of this account are set up unless ``connect``/``accept`` say otherwise."""

    media_options: MediaOptions = attrs.field(factory=MediaOptions)
    source: Callable[[], AudioSource | None] | None = None
    sinks: Callable[[], list[AudioSink]] | None = None
    dtmf_method: str = "info"
    """``info`` (SIP INFO dtmf-relay, what the original library sent) or ``rfc4733``."""
    answer_timeout: float = 60.0
    media: str = attrs.field(default="webrtc", validator=attrs.validators.in_(("webrtc", "none")))
    """``none``: signalling-only calls with an inactive audio stream and no media stack."""


class CallRouter:
    """An account's calls, made at the account's first use of them (a call, a call
    setting, a request from the server); it holds nothing for calls until the first one.

    The call table, the outbox, the proxy-auth state, the defaults and the
    task that owns the calls (``CallHost``) are all made on first use: most
    registered accounts never call.
    """

    __slots__ = (
        "_calls",
        "_contact",
        "_defaults",
        "_digest",
        "_feed",
        "_host",
        "_in_account_task",
        "_outbox",
        "_owner",
        "_registered",
        "_rng",
        "_settings",
        "_wake",
        "account",
        "params",
    )

    def __init__(
        self,
        *,
        account: str,
        params: RegisterParams,
        feed: EventFeed,
        wake: Callable[[], None],
        contact: Callable[[], str],
        registered: Callable[[], bool],
        rng: random.Random | None = None,
    ) -> None:
        self.account = account
        self.params = params
        self._feed = feed
        self._wake = wake
        self._contact = contact
        self._registered = registered
        self._rng = rng
        self._calls: dict[str, CallActor] = {}
        self._outbox: deque[Send | Respond] | None = None
        self._defaults: CallDefaults | None = None
        self._digest: DigestClient | None = None
        self._owner: trio.Nursery | None = None
        self._host: CallHost | None = None
        self._settings: CallSettings | None = None
        self._in_account_task = False

    @property
    def defaults(self) -> CallDefaults:
        if self._defaults is None:
            self._defaults = CallDefaults()
        return self._defaults

    @property
    def digest(self) -> DigestClient:
        """One proxy-auth state for all of the account's calls: later INVITEs reuse the nonce."""
        if self._digest is None:
            params = self.params
            self._digest = DigestClient(
                DigestCredentials.from_private_identity(
                    params.private_identity, params.password, params.realm
                ),
                self._random(),
            )
        return self._digest

    def _random(self) -> random.Random:
        if self._rng is None:
            self._rng = random.Random()
        return self._rng

    # -- lifetime (inside the account actor's task) ----------------------------------

    def attach(self, owner: trio.Nursery | None) -> None:
        """Call tasks are owned by ``owner``, the nursery that owns the account's task
        (in a CallHost made at the first call), and ended (``close``) before that task ends."""
        self._owner = owner

    async def close(self) -> None:
        """End every call; the account's task is ending."""
        self._owner = None
        host, self._host = self._host, None
        if host is not None:
            await host.aclose()

    def _call_host(self) -> CallHost | None:
        if self._host is None and self._owner is not None:
            self._host = CallHost(self._owner, self.account)
        return self._host

    def __len__(self) -> int:
        return len(self._calls)

    def calls(self) -> list[Call]:
        return [actor.call for actor in self._calls.values()]

    def current(self) -> Call:
        """The call the kazoo.js-style account methods act on: the newest answered live call,
        else the newest live call."""
        live = [a for a in self._calls.values() if not a.session_ended]
        answered = [a for a in live if a.answered]
        chosen = (answered or live)[-1:] if (answered or live) else []
        if not chosen:
            raise NoCurrentCall(f"account {self.account} has no call in progress")
        return chosen[0].call

    # -- what call tasks use ----------------------------------------------------------

    def settings(self) -> CallSettings:
        """What a new call is built with; made again only when the contact changed
        (a new registration), as parsing it for every call cost ~1 % of a signalling run."""
        contact = self._contact()
        settings = self._settings
        if settings is not None and settings.contact == contact:
            return settings
        host = parse_configured_uri(contact, "contact").host
        secure = (self.params.ws_url or "").startswith("wss:")
        self._settings = CallSettings(
            account=self.account,
            params=self.params,
            contact=contact,
            local_via=Via("WSS" if secure else "WS", host),
            defaults=self.defaults,
            rng=self._random(),
        )
        return self._settings

    def post(self, item: Send | Respond) -> None:
        # Every drain empties the queue, so one wake per empty -> non-empty is enough;
        # and none from the account's own task, which drains before it waits again.
        if self._outbox is None:
            self._outbox = deque()
        wake = not self._outbox and not self._in_account_task
        self._outbox.append(item)
        if wake:
            self._wake()

    def publish(self, event: CallEvent) -> None:
        """Into the account's feed only (an event whose callback is unset)."""
        self._feed.publish(event)

    def has_callback(self, name: str) -> bool:
        return getattr(self.params, name) is not None

    async def emit(self, event: CallEvent, callback: str | None, *args: Any) -> None:
        self._feed.publish(event)
        if callback is not None:
            await invoke_callback(
                getattr(self.params, callback), *args, account=self.account, name=callback
            )

    def forget(self, actor: CallActor) -> None:
        if self._calls.get(actor.call_id) is actor:
            del self._calls[actor.call_id]

    def adopt(self, actor: CallActor) -> None:
        self._calls[actor.call_id] = actor

    async def start_call(
        self,
        target: str,
        *,
        media_options: MediaOptions | None = None,
        source: AudioSource | None = None,
        sinks: list[AudioSink] | None = None,
        observer: Callable[[int, str], None] | None = None,
    ) -> Call:
        """Place a call; returns once the INVITE is on its way (CallError when we cannot)."""
        host = self._call_host() if self._registered() else None
        if host is None or not host.open:
            raise CallError(f"account {self.account} is not registered: cannot call {target}")
        if len(self._calls) >= MAX_CALLS:
            raise CallError(f"account {self.account} already has {MAX_CALLS} calls")
        actor = CallActor.outgoing(
            self,
            target=target,
            media_options=media_options,
            source=source,
            sinks=sinks,
            observer=observer,
        )
        if actor.signalling_only:
            # Nothing to wait for before the INVITE: no nursery.start round trip.
            if not await host.wait_ready():
                raise CallError(f"account {self.account} is closing: cannot call {target}")
            place_now(actor)
            host.start_soon(actor.run)
            return actor.call
        call: Call | None = await host.start(actor.run)
        if call is None:
            raise CallError(f"account {self.account} is closing: cannot call {target}")
        return call

    # -- what the account actor calls -------------------------------------------------------

    @property
    def has_outbound(self) -> bool:
        """Whether call tasks queued anything for ``outbound`` (seldom: most wake-ups, none)."""
        return bool(self._outbox)

    def outbound(self, endpoint: SipEndpoint) -> list[EndpointOutput]:
        """Drain what call tasks queued: client transactions, server-transaction answers, ACKs."""
        out: list[EndpointOutput] = []
        outbox = self._outbox
        while outbox:
            item = outbox.popleft()
            try:
                if isinstance(item, Respond):
                    out.extend(endpoint.respond(item.request, item.response))
                elif isinstance(item.message, Request) and item.message.method != "ACK":
                    out.extend(endpoint.send_request(item.message))
                else:
                    out.append(item)
            except (ParseError, ValueError) as exc:
                log.warning("account %s: a call's message was not sent: %s", self.account, exc)
        return out

    def route(self, item: FinalResponse | ProvisionalResponse | RequestFailed) -> bool:
        """A response or failure for a request a call sent; False when no call owns it."""
        actor = self._calls.get(item.request.headers.get("Call-ID") or "")
        if actor is None:
            return False
        if isinstance(item, RequestFailed):
            actor.deliver(SipFailed(request=item.request, code=item.code, reason=item.reason))
        else:
            self._take(actor, SipIn(message=item.response, request=item.request))
        return True

    def claims(self, request: Request) -> bool:
        if (request.headers.get("Call-ID") or "") in self._calls:
            return True
        if request.method == "CANCEL":
            return True
        return request.method == "INVITE" and not _has_to_tag(request)

    def incoming(self, request: Request, endpoint: SipEndpoint) -> list[EndpointOutput]:
        """A request ``claims`` said is ours; returns what the account must perform now."""
        actor = self._calls.get(request.headers.get("Call-ID") or "")
        if actor is not None:
            self._take(actor, SipIn(message=request, request=None))
            return []
        if request.method == "CANCEL":
            return endpoint.respond(request, response_to(request, 481))
        if request.method == "ACK":
            return []
        host = self._call_host()
        if host is None or not host.open or len(self._calls) >= MAX_CALLS:
            return endpoint.respond(request, response_to(request, 486, to_tag="busy"))
        try:
            actor = CallActor.incoming(self, request)
        except ParseError as exc:
            log.warning("account %s: unusable INVITE answered 400: %s", self.account, exc)
            return endpoint.respond(request, response_to(request, 400, to_tag="bad"))
        self._calls[actor.call_id] = actor
        if actor.signalling_only:
            self._in_account_task = True
            try:
                answer_now(actor)
            finally:
                self._in_account_task = False
        host.start_soon(actor.run)
        return []

    def _take(self, actor: CallActor, item: SipIn) -> None:
        """SIP for a call: stepped here when its task is idle, else queued to it."""
        self._in_account_task = True
        try:
            taken = sip_now(actor, item)
        finally:
            self._in_account_task = False
        if not taken:
            actor.deliver(item)

    def hangup_all(self) -> None:
        """End every live call now (the account is logging out): their BYEs and
        CANCELs are queued before the un-REGISTER goes out."""
        for actor in list(self._calls.values()):
            hangup_now(actor)

    def connection_lost(self) -> None:
        for actor in list(self._calls.values()):
            actor.deliver(ConnectionLost())

    def statistics(self) -> dict[str, int]:
        return {"calls": len(self._calls), "queued": len(self._outbox or ())}


def _has_to_tag(request: Request) -> bool:
    with suppress(ValueError):
        return "tag" in request.to_address.parameters
    return False


__all__ = ["CallDefaults", "CallRouter", "CallWork"]
