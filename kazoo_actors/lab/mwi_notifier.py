"""A voicemail notifier on UDP 127.0.0.1: the far end of ``message-summary`` SUBSCRIBEs.

Kazoo sends voicemail NOTIFYs unsolicited, but a client may subscribe (RFC 6665,
RFC 3842). With ``KamailioSettings(mwi_server=notifier.server)`` the lab Kamailio
relays a local user's initial ``SUBSCRIBE`` with ``Event: message-summary`` here,
record-routed, so the subscription dialog runs through Kamailio both ways.

What it does, as a voicemail platform would:

- answers an initial SUBSCRIBE with 200 (To tag, Contact, the request's
  Record-Route, ``Expires`` = min(requested, ``max_expires``)), keeps the dialog
  and sends a NOTIFY ``Subscription-State: active;expires=N`` with the mailbox's
  counts; a refresh inside the dialog gets 200 and another NOTIFY;
- ``Expires: 0`` (unsubscribe or fetch) gets 200 and a final NOTIFY
  ``terminated;reason=timeout``: the subscription's duration has run out, which
  is how RFC 6665 s.4.1.3 names it, and invites no retry from the subscriber;
- a subscription not refreshed in time ends with the same final NOTIFY;
- ``await notify(user, new=3, old=1)`` updates the mailbox and NOTIFYs every
  subscription of ``user``; ``await terminate(user, reason)`` ends them;
- every datagram it received is kept in ``received`` for assertions.

NOTIFYs are built by ``protocols.sip.dialog.Dialog`` (route set, CSeq, tags) and
sent in a UDP client transaction (``NonInviteClientTransaction``), so they are
retransmitted until a final response or Timer F. Run it with ``serve`` in a nursery,
or ``async with open_mwi_notifier() as notifier``.
"""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import attrs
import trio
from sipmessage import Parameters, Request, Via

from kazoo_actors.lab.message_summary_body import (
    CONTENT_TYPE,
    VoicemailCounts,
    message_summary_body,
)
from kazoo_actors.lab.ports import LOOPBACK
from protocols.sip import (
    CancelTimer,
    ParseError,
    Send,
    SipRequest,
    SipResponse,
    StartTimer,
    parse_message,
    response_to,
)
from protocols.sip.dialog import Dialog, DialogId, DialogState, id_for_request
from protocols.sip.identifiers import new_tag
from protocols.sip.transaction import (
    ClientKey,
    NonInviteClientTransaction,
    Output,
    ResponseReceived,
    ServerKey,
    TimedOut,
    TimerSettings,
    response_key,
    server_key,
)

EVENT_PACKAGE = "message-summary"
DEFAULT_MAX_EXPIRES = 3600
# Loopback answers in microseconds: short timers keep a lost NOTIFY from stalling a test
# for the 32 s of Timer F with RFC 3261's defaults (here 64 * 0.1 = 6.4 s).
LAB_TIMERS = TimerSettings(t1=0.1, t2=1.0)
_MAX_DATAGRAM = 65535
# Responses kept to answer a retransmitted SUBSCRIBE with the very same response.
_REMEMBERED_RESPONSES = 256
_RESPONSE_QUEUE = 8
_DEFAULT_SIP_PORT = 5060


@attrs.frozen
class ReceivedDatagram:
    """One datagram the notifier read: the message (None when it did not parse)."""

    message: SipRequest | SipResponse | None
    raw: bytes
    source: tuple[str, int]


@attrs.define(eq=False)
class MwiSubscription:
    """One subscription dialog; ``active`` turns False once it is ending or ended."""

    user: str
    dialog: Dialog
    expires: int
    expires_at: float
    lock: trio.Lock = attrs.field(factory=trio.Lock)
    active: bool = True

    def remaining(self, now: float) -> int:
        return max(0, math.ceil(self.expires_at - now))


class MwiNotifier:
    """A message-summary notifier; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        counts: VoicemailCounts | None = None,
        max_expires: int = DEFAULT_MAX_EXPIRES,
        timers: TimerSettings = LAB_TIMERS,
    ) -> None:
        if max_expires <= 0:
            raise ValueError("max_expires must be positive")
        self._host = host
        self._port = port
        self._default_counts = counts or VoicemailCounts()
        self._max_expires = max_expires
        self._timers = timers
        self._socket: trio.socket.SocketType | None = None
        self._nursery: trio.Nursery | None = None
        self._mailboxes: dict[str, VoicemailCounts] = {}
        self._subscriptions: dict[DialogId, MwiSubscription] = {}
        self._waiting: dict[ClientKey, trio.MemorySendChannel[SipResponse]] = {}
        self._answered: OrderedDict[ServerKey, bytes] = OrderedDict()
        self._arrival = trio.Event()
        self._schedule_changed = trio.Event()
        self.received: list[ReceivedDatagram] = []

    # -- addresses and inspection --------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        if self._socket is None:
            raise RuntimeError("the notifier is not serving yet")
        return (self._host, self._port)

    @property
    def server(self) -> str:
        """``host:port``, the form ``KamailioSettings.mwi_server`` takes."""
        host, port = self.address
        return f"{host}:{port}"

    @property
    def contact(self) -> str:
        host, port = self.address
        return f"<sip:mwi@{host}:{port}>"

    def counts(self, user: str) -> VoicemailCounts:
        return self._mailboxes.get(user, self._default_counts)

    def set_counts(self, user: str, counts: VoicemailCounts) -> None:
        """What the next NOTIFY to ``user`` says, without sending one now."""
        self._mailboxes[user] = counts

    def subscriptions(self, user: str | None = None) -> list[MwiSubscription]:
        """The active subscriptions (of ``user``, or all)."""
        return [
            s for s in self._subscriptions.values() if s.active and (user is None or s.user == user)
        ]

    def requests(self, method: str) -> list[SipRequest]:
        return [
            d.message
            for d in self.received
            if isinstance(d.message, SipRequest) and d.message.method == method
        ]

    def responses(self, method: str) -> list[SipResponse]:
        """Responses received to our requests of ``method`` (NOTIFY), retransmissions too."""
        found = []
        for datagram in self.received:
            message = datagram.message
            if isinstance(message, SipResponse) and message.cseq.method == method:
                found.append(message)
        return found

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Until ``condition()`` holds, checked after each datagram; callers bound the wait."""
        while not condition():
            await self._arrival.wait()

    # -- running -------------------------------------------------------------------------

    async def serve(
        self, *, task_status: trio.TaskStatus[MwiNotifier] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, report ``self`` as started, then answer until cancelled."""
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        with sock:
            await sock.bind((self._host, self._port))
            self._port = sock.getsockname()[1]
            self._socket = sock
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._expire_subscriptions)
                    task_status.started(self)
                    await self._receive_loop(sock)
            finally:
                self._socket = None
                self._nursery = None

    async def notify(
        self, user: str, *, new: int, old: int = 0, urgent_new: int = 0, urgent_old: int = 0
    ) -> list[int]:
        """Set ``user``'s counts and NOTIFY each of its subscriptions; their final codes
        (408 when a NOTIFY got no final response)."""
        self.set_counts(
            user, VoicemailCounts(new=new, old=old, urgent_new=urgent_new, urgent_old=urgent_old)
        )
        return [await self._send_notify(sub, None) for sub in self.subscriptions(user)]

    async def terminate(
        self, user: str, reason: str = "noresource", *, retry_after: int | None = None
    ) -> list[int]:
        """End every subscription of ``user`` with a terminated NOTIFY; their final codes."""
        state = f"terminated;reason={reason}"
        if retry_after is not None:
            state += f";retry-after={retry_after}"
        ending = self.subscriptions(user)
        for sub in ending:
            self._end(sub)
        return [await self._send_notify(sub, state) for sub in ending]

    # -- receiving -----------------------------------------------------------------------

    async def _receive_loop(self, sock: trio.socket.SocketType) -> None:
        while True:
            data, source = await sock.recvfrom(_MAX_DATAGRAM)
            try:
                message: SipRequest | SipResponse | None = parse_message(data)
            except ParseError:
                message = None
            self.received.append(ReceivedDatagram(message, data, (source[0], source[1])))
            if isinstance(message, SipResponse):
                self._route_response(message)
            elif isinstance(message, SipRequest):
                # parse_message checks every header the notifier reads, so this is a
                # belt for the odd field read lazily: nothing sane to answer then.
                with contextlib.suppress(ParseError):
                    await self._on_request(sock, message, source)
            self._arrival.set()
            self._arrival = trio.Event()

    def _route_response(self, response: SipResponse) -> None:
        try:
            channel = self._waiting.get(response_key(response))
        except ParseError:
            return
        if channel is not None:
            # A burst of retransmissions beyond the queue adds nothing the transaction needs.
            with contextlib.suppress(trio.WouldBlock):
                channel.send_nowait(response)

    async def _on_request(
        self, sock: trio.socket.SocketType, request: SipRequest, source: tuple[str, int]
    ) -> None:
        if request.method == "ACK":
            return
        key = server_key(request)
        if key in self._answered:
            await sock.sendto(self._answered[key], source)
            return
        response, follow_up = self._answer(request)
        data = bytes(response)
        self._answered[key] = data
        while len(self._answered) > _REMEMBERED_RESPONSES:
            self._answered.popitem(last=False)
        await sock.sendto(data, source)
        if follow_up is not None and self._nursery is not None:
            sub, state = follow_up
            self._nursery.start_soon(self._send_notify, sub, state)

    def _answer(
        self, request: SipRequest
    ) -> tuple[SipResponse, tuple[MwiSubscription, str | None] | None]:
        """The response, and the subscription to NOTIFY (with a terminated state) after it."""
        if request.method != "SUBSCRIBE":
            response = response_to(request, 405)
            response.headers.add("Allow", "SUBSCRIBE")
            return response, None
        event = request.event
        if event is None or event.package.lower() != EVENT_PACKAGE:
            response = response_to(request, 489)
            response.headers.add("Allow-Events", EVENT_PACKAGE)
            return response, None
        requested = request.expires
        expires = min(self._max_expires if requested is None else requested, self._max_expires)
        if request.to_address.parameters.get("tag"):
            sub = self._subscriptions.get(id_for_request(request))
            if sub is None or not sub.active:
                return response_to(request, 481), None
            reject = sub.dialog.receive_request(request)
            if reject is not None:
                return response_to(request, reject.code, reject.phrase), None
            response = self._accept(request, sub.dialog.local_tag, expires)
        else:
            response = self._accept(request, new_tag(), expires)
            dialog = Dialog.from_uas(request, response, local_via=self._via())
            user = dialog.local_uri.uri.user or ""
            sub = MwiSubscription(user=user, dialog=dialog, expires=expires, expires_at=0.0)
            self._subscriptions[dialog.id] = sub
        sub.expires = expires
        sub.expires_at = trio.current_time() + expires
        self._schedule_changed.set()
        if expires == 0:
            self._end(sub)
            return response, (sub, "terminated;reason=timeout")
        return response, (sub, None)

    def _accept(self, request: SipRequest, to_tag: str, expires: int) -> SipResponse:
        response = response_to(request, 200, to_tag=to_tag)
        # The UAS copies Record-Route into its 2xx (RFC 3261 s.12.1.1), so the subscriber's
        # requests in the dialog pass through Kamailio too.
        for route in request.headers.getlist("Record-Route"):
            response.headers.add("Record-Route", route)
        response.headers.add("Contact", self.contact)
        response.headers.add("Expires", str(expires))
        return response

    def _via(self) -> Via:
        host, port = self.address
        return Via(transport="UDP", host=host, port=port, parameters=Parameters(rport=None))

    def _end(self, sub: MwiSubscription) -> None:
        sub.active = False
        self._subscriptions.pop(sub.dialog.id, None)
        self._schedule_changed.set()

    # -- sending ------------------------------------------------------------------------

    async def _send_notify(self, sub: MwiSubscription, terminated: str | None) -> int:
        """NOTIFY ``sub`` (active with the mailbox's counts, or the ``terminated`` state)."""
        async with sub.lock:
            if sub.dialog.state is DialogState.TERMINATED:
                return 481
            now = trio.current_time()
            state = terminated or f"active;expires={sub.remaining(now)}"
            body = message_summary_body(self.counts(sub.user), str(sub.dialog.local_uri.uri))
            request = sub.dialog.create_request(
                "NOTIFY",
                body=body,
                content_type=CONTENT_TYPE,
                headers=[("Event", EVENT_PACKAGE), ("Subscription-State", state)],
            )
            if terminated is not None:
                sub.dialog.terminate()
            response = await self._send_request(request, _next_hop(sub.dialog))
            if response is None:
                return 408
            # 481 or 408 from the subscriber ends the dialog (RFC 6665 s.4.2.2).
            if sub.dialog.receive_response(response) is DialogState.TERMINATED:
                self._end(sub)
            return response.code

    async def _send_request(
        self, request: Request, destination: tuple[str, int]
    ) -> SipResponse | None:
        """Run a UDP client transaction; its final response, or None on Timer F."""
        transaction = NonInviteClientTransaction(request, reliable=False, timers=self._timers)
        sender, receiver = trio.open_memory_channel[SipResponse](_RESPONSE_QUEUE)
        self._waiting[transaction.key] = sender
        deadlines: dict[str, float] = {}
        outputs = transaction.start()
        try:
            while True:
                done, final = await self._perform(outputs, destination, deadlines)
                if done:
                    return final
                if not deadlines:
                    return None
                name, at = min(deadlines.items(), key=lambda item: item[1])
                with trio.move_on_at(at):
                    outputs = transaction.receive_response(await receiver.receive())
                    continue
                del deadlines[name]
                outputs = transaction.timer_fired(name)
        finally:
            del self._waiting[transaction.key]

    async def _perform(
        self, outputs: list[Output], destination: tuple[str, int], deadlines: dict[str, float]
    ) -> tuple[bool, SipResponse | None]:
        """Carry out a transaction's actions; (finished, final response if one came)."""
        sock = self._socket
        for output in outputs:
            if isinstance(output, Send) and sock is not None:
                await sock.sendto(bytes(output.message), destination)
            elif isinstance(output, StartTimer):
                deadlines[output.name] = trio.current_time() + output.seconds
            elif isinstance(output, CancelTimer):
                deadlines.pop(output.name, None)
            elif isinstance(output, ResponseReceived) and output.response.code >= 200:
                # Only parsed responses are routed to transactions.
                response = output.response
                return True, response if isinstance(response, SipResponse) else None
            elif isinstance(output, TimedOut):
                return True, None
        return False, None

    async def _expire_subscriptions(self) -> None:
        while True:
            self._schedule_changed = trio.Event()
            deadline = min((s.expires_at for s in self.subscriptions()), default=math.inf)
            with trio.move_on_at(deadline):
                await self._schedule_changed.wait()
                continue
            now = trio.current_time()
            for sub in self.subscriptions():
                if sub.expires_at <= now and self._nursery is not None:
                    self._end(sub)
                    self._nursery.start_soon(self._send_notify, sub, "terminated;reason=timeout")


def _next_hop(dialog: Dialog) -> tuple[str, int]:
    """Where a request in ``dialog`` goes over UDP: the first loose route, else the target."""
    uri = dialog.route_set[0].uri if dialog.route_set else dialog.remote_target
    return (uri.host, uri.port or _DEFAULT_SIP_PORT)


@asynccontextmanager
async def open_mwi_notifier(
    *,
    host: str = LOOPBACK,
    port: int = 0,
    counts: VoicemailCounts | None = None,
    max_expires: int = DEFAULT_MAX_EXPIRES,
    timers: TimerSettings = LAB_TIMERS,
) -> AsyncIterator[MwiNotifier]:
    """A serving notifier (on a free port by default), stopped on exit."""
    notifier = MwiNotifier(
        host=host, port=port, counts=counts, max_expires=max_expires, timers=timers
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(notifier.serve)
        try:
            yield notifier
        finally:
            nursery.cancel_scope.cancel()
