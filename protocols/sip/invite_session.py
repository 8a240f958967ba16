"""One call's INVITE usage (RFC 3261 s.13-15, RFC 3311 UPDATE, RFC 6141), sans-IO.

``InviteSession.outgoing(...)`` (UAC) or ``InviteSession.incoming(invite, ...)``
(UAS); ``start()`` returns the first outputs. Every method returns a list of:

- ``Send(message=request)``: an ACK goes to the transport as it is; any other
  request runs in a new client transaction of the owner, whose provisional and
  final responses come back through ``receive_response`` and whose failure
  (timeout, transport) through ``request_failed``.
- ``Respond(request=, response=)``: answer through that request's server
  transaction.
- ``StartTimer`` / ``CancelTimer``: ``timer_fired(name)`` when one expires.
- events: ``Progress``, ``Answered``, ``Confirmed``, ``RemoteDirection``,
  ``DtmfReceived``, ``InfoIgnored``, ``InfoResult`` and, exactly once, ``Ended``
  (the final outcome, with who ended the call and the SIP status).

The owner feeds every in-dialog request of the call to ``receive_request``
(REFER and NOTIFY belong to ``refer``; ``dialog.receive_request`` is already
applied here for the rest). State changes follow ``invite_states.TRANSITIONS``; a local call
the state does not allow raises ``LocalProtocolError``, a remote message the
state does not expect is absorbed (answered, when it is a request).

Races handled: CANCEL before any provisional is held back until one arrives
(s.9.1); a 2xx that crosses our CANCEL is ACKed and the call ended with BYE; a
2xx from a second fork is ACKed and sent a BYE; every 2xx, retransmissions
included, is ACKed. A UAS that has sent its 2xx retransmits it until the ACK
on unreliable transports only, and sends a BYE if no ACK comes (s.13.3.1.4).
"""

from __future__ import annotations

import functools
import random

from sipmessage import URI, Address, Request, Response, Via

from . import checked_headers
from .actions import CancelTimer, Send, StartTimer
from .configured_uri import parse_configured_uri
from .dialog import Dialog, DialogState, creates_dialog, id_for_request
from .digest import ChallengeOutcome, DigestClient
from .dtmf_relay import CONTENT_TYPE as DTMF_RELAY
from .dtmf_relay import build_dtmf_relay, parse_dtmf_relay
from .errors import LocalProtocolError, ParseError
from .identifiers import new_branch, new_call_id, new_tag
from .invite_events import (
    Answered,
    Confirmed,
    DtmfReceived,
    Ended,
    InfoIgnored,
    InfoResult,
    Outcome,
    Progress,
    RemoteDirection,
    SessionEvent,
)
from .invite_states import TRANSITIONS, Role, SessionState
from .replies import reason_phrase, response_to
from .request_start import start_request
from .respond_action import Respond
from .sdp_direction import answer_direction, offered_direction, with_direction
from .transaction_requests import build_cancel

__all__ = [
    "TRANSITIONS",
    "Answered",
    "Confirmed",
    "DtmfReceived",
    "Ended",
    "InfoIgnored",
    "InfoResult",
    "InviteSession",
    "Outcome",
    "Progress",
    "RemoteDirection",
    "Role",
    "SessionEvent",
    "SessionOutput",
    "SessionState",
]

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, INFO, UPDATE, REFER, NOTIFY, OPTIONS"
T1 = 0.5
T2 = 4.0
ACK_WAIT = 64 * T1
"""How long a UAS waits for the ACK of its 2xx before ending the call (s.13.3.1.4)."""
CANCEL_WAIT = 64 * T1
"""How long a cancelled INVITE may stay without a final response (s.9.1)."""
DEFAULT_ANSWER_TIMEOUT = 60.0
"""An incoming call nobody answers is ended with 480 after this long."""
MAX_AUTH_ATTEMPTS = 2

TIMER_ANSWER = "answer"
TIMER_ACK = "ack"
TIMER_2XX = "2xx"
TIMER_CANCEL = "cancel"


S = SessionState
SessionOutput = Send | Respond | StartTimer | CancelTimer | SessionEvent


@functools.lru_cache(maxsize=256)
def _target(target: str) -> tuple[URI, str]:
    """A call target's URI and its To header; ValueError for what is not a SIP URI.

    Kept per target text: a load test calls the same few targets over and over, and
    parsing then rendering the URI again was a fifth of building an INVITE."""
    uri = parse_configured_uri(target, "call target")
    return uri, str(Address(uri=uri))


@functools.lru_cache(maxsize=64)
def _local_address(text: str) -> tuple[Address, str]:
    """Our From address and its text (checked and normalised once per account address)."""
    address = Address.parse(text)
    return address, str(address)


@functools.lru_cache(maxsize=64)
def _contact_address(contact: str) -> Address:
    """Our Contact as the dialog keeps it: what our messages say, without reading them."""
    return Address.parse(f"<{contact}>")


def _sdp_of(message: Request | Response) -> str | None:
    content_type = (message.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not message.body or content_type != SDP:
        return None
    try:
        return message.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("SDP body is not UTF-8") from exc


class InviteSession:
    __slots__ = (
        "_ack_deadline_armed",
        "_auth_attempts",
        "_bye_after_ack",
        "_call_id",
        "_cancel_pending",
        "_cancel_requested",
        "_cancel_sent",
        "_confirmed_tag",
        "_contact",
        "_dialog",
        "_digest",
        "_early",
        "_ended",
        "_final_received",
        "_from",
        "_invite",
        "_last_2xx",
        "_local_sdp",
        "_local_tag",
        "_local_uri",
        "_local_via",
        "_reliable",
        "_remote_direction",
        "_retransmit_interval",
        "_rng",
        "_target",
        "answer_timeout",
        "remote_sdp",
        "role",
        "state",
    )

    def __init__(
        self,
        *,
        role: Role,
        local_via: Via,
        contact: str,
        reliable: bool,
        rng: random.Random | None,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT,
    ) -> None:
        self.role = role
        self.state = S.IDLE
        self._dialog: Dialog | None = None
        self._early: Response | None = None
        self.remote_sdp: str | None = None
        self.answer_timeout = answer_timeout
        self._local_via = Via(local_via.transport, local_via.host, local_via.port)
        self._contact = contact
        self._reliable = reliable
        self._rng = rng or random.Random()
        self._invite: Request | None = None
        self._digest: DigestClient | None = None
        self._auth_attempts = 0
        self._cancel_pending = False
        self._cancel_requested = False
        self._cancel_sent = False
        self._final_received = False
        self._confirmed_tag: str | None = None
        self._local_sdp: str | None = None
        self._last_2xx: Response | None = None
        self._retransmit_interval = T1
        self._bye_after_ack = False
        self._ack_deadline_armed = False
        self._ended = False
        self._remote_direction = "sendrecv"
        self._call_id = ""
        self._local_tag = ""
        self._from = ""
        self._local_uri: Address | None = None
        self._target: URI | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def outgoing(
        cls,
        *,
        target: str,
        local_address: str,
        contact: str,
        local_via: Via,
        offer_sdp: str,
        digest: DigestClient | None = None,
        reliable: bool = True,
        user_agent: str = "kazoo-actors",
        rng: random.Random | None = None,
    ) -> InviteSession:
        """A call to ``target`` (a SIP URI) from ``local_address`` (our AOR, maybe with a
        display name). ValueError for a target that is not a SIP URI."""
        session = cls(
            role=Role.UAC, local_via=local_via, contact=contact, reliable=reliable, rng=rng
        )
        session._target, to = _target(target)
        session._digest = digest
        session._local_sdp = offer_sdp
        session._call_id = new_call_id(session._rng)
        session._local_tag = new_tag(session._rng)
        session._local_uri, from_text = _local_address(local_address)
        session._from = f"{from_text};tag={session._local_tag}"
        invite = start_request(
            "INVITE",
            session._target,
            via=session._via(),
            from_=session._from,
            to=to,
            call_id=session._call_id,
            cseq=session._rng.randint(1, 2**20),
            body=offer_sdp.encode("utf-8"),
        )
        headers = invite.headers
        headers.add("Contact", f"<{contact}>")
        headers.add("Allow", ALLOW)
        headers.add("Supported", "replaces")
        headers.add("User-Agent", user_agent)
        headers.add("Content-Type", SDP)
        headers.add("Content-Length", str(len(invite.body)))
        if digest is not None:
            # Credentials for a nonce the account already holds save the 407 round trip.
            digest.authorize(invite)
        session._invite = invite
        return session

    @classmethod
    def incoming(
        cls,
        invite: Request,
        *,
        contact: str,
        local_via: Via,
        reliable: bool = True,
        answer_timeout: float = DEFAULT_ANSWER_TIMEOUT,
        rng: random.Random | None = None,
    ) -> InviteSession:
        """An INVITE from the far end; ParseError when headers the dialog needs are bad."""
        if invite.method != "INVITE":
            raise LocalProtocolError(f"incoming {invite.method}", "idle", "UAS")
        checked_headers.cseq(invite)
        checked_headers.from_address(invite)
        checked_headers.to_address(invite)
        checked_headers.top_via(invite)
        checked_headers.contacts(invite)
        session = cls(
            role=Role.UAS,
            local_via=local_via,
            contact=contact,
            reliable=reliable,
            rng=rng,
            answer_timeout=answer_timeout,
        )
        session._invite = invite
        session._call_id = checked_headers.header(invite, "Call-ID")
        session._local_tag = new_tag(session._rng)
        session.remote_sdp = _sdp_of(invite)
        return session

    # -- what the owner may read ----------------------------------------------------------

    @property
    def call_id(self) -> str:
        return self._call_id

    @property
    def invite(self) -> Request:
        assert self._invite is not None  # set by both constructors
        return self._invite

    @property
    def terminated(self) -> bool:
        return self.state is S.TERMINATED

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def local_sdp(self) -> str | None:
        return self._local_sdp

    @property
    def remote_direction(self) -> str:
        return self._remote_direction

    @property
    def dialog(self) -> Dialog | None:
        """The call's dialog: early (UAS after ringing, UAC after a 1xx with a To tag),
        then confirmed. A UAC's early dialog is built on first use: most calls never
        use it before the 2xx, whose dialog replaces it."""
        if self._dialog is None and self._early is not None:
            early, self._early = self._early, None
            if creates_dialog(early):
                self._dialog = self._uac_dialog(early)
        return self._dialog

    @dialog.setter
    def dialog(self, dialog: Dialog | None) -> None:
        self._dialog = dialog
        self._early = None

    def owns(self, request: Request) -> bool:
        """Whether an in-dialog request belongs to our dialog (Call-ID and both tags,
        s.12.2.2); the owner routes by Call-ID alone."""
        if self.dialog is None:
            return False
        return id_for_request(request) == self.dialog.id

    def is_cancel_for_us(self, cancel: Request) -> bool:
        """Whether a CANCEL targets our INVITE (same top Via branch)."""
        if self.role is not Role.UAS:
            return False
        try:
            ours = checked_headers.top_via(self.invite).parameters.get("branch")
            theirs = checked_headers.top_via(cancel).parameters.get("branch")
        except ParseError:
            return False
        return ours is not None and ours == theirs

    # -- starting -----------------------------------------------------------------------------

    def start(self) -> list[SessionOutput]:
        if self.role is Role.UAC:
            self._step("invite")
            return [Send(message=self.invite)]
        self._step("offer")
        return [StartTimer(name=TIMER_ANSWER, seconds=self.answer_timeout)]

    # -- local commands ------------------------------------------------------------------------

    def ring(self) -> list[SessionOutput]:
        """UAS: 180 Ringing (creates the early dialog)."""
        self._require_role(Role.UAS, "ring")
        self._step("ring")
        response = self._uas_response(180)
        self._ensure_uas_dialog(response)
        return [Respond(request=self.invite, response=response)]

    def accept(self, answer_sdp: str) -> list[SessionOutput]:
        """UAS: 200 OK with our SDP answer."""
        self._require_role(Role.UAS, "accept")
        self._step("accept")
        self._local_sdp = answer_sdp
        response = self._uas_response(200, body=answer_sdp.encode("utf-8"))
        self._ensure_uas_dialog(response)
        assert self.dialog is not None
        self.dialog.response_sent(response)
        self._last_2xx = response
        out: list[SessionOutput] = [
            CancelTimer(name=TIMER_ANSWER),
            Respond(request=self.invite, response=response),
            StartTimer(name=TIMER_ACK, seconds=ACK_WAIT),
        ]
        if not self._reliable:
            self._retransmit_interval = T1
            out.append(StartTimer(name=TIMER_2XX, seconds=T1))
        return out

    def reject(self, code: int = 486, reason: str | None = None) -> list[SessionOutput]:
        """UAS: a final 3xx-6xx (486 Busy Here by default; 488 when the offer cannot be used)."""
        self._require_role(Role.UAS, "reject")
        if not 300 <= code <= 699:
            raise ValueError(f"a rejection needs a 3xx-6xx code, not {code}")
        self._step("reject")
        response = self._uas_response(code, reason)
        return [
            CancelTimer(name=TIMER_ANSWER),
            Respond(request=self.invite, response=response),
            self._end(Outcome.REJECTED, code, response.phrase, "local"),
        ]

    def cancel(self) -> list[SessionOutput]:
        """UAC: CANCEL the unanswered INVITE (held until a provisional response came)."""
        self._require_role(Role.UAC, "cancel")
        provisional_seen = self.state is S.PROCEEDING
        self._step("cancel")
        self._cancel_requested = True
        out: list[SessionOutput] = [StartTimer(name=TIMER_CANCEL, seconds=CANCEL_WAIT)]
        if provisional_seen:
            out.extend(self._send_cancel())
        else:
            self._cancel_pending = True
        return out

    def bye(self) -> list[SessionOutput]:
        """Hang up an answered call."""
        if self.state is S.ANSWERED:
            # s.15: a UAS waits for the ACK (or its timeout) before its BYE.
            self._bye_after_ack = True
            return []
        self._step("bye")
        return self._send_bye()

    def hangup(self) -> list[SessionOutput]:
        """Whatever ends the call from here: CANCEL, 603 Decline, or BYE; nothing once ending."""
        if self.state in (S.CALLING, S.PROCEEDING):
            return self.cancel()
        if self.state in (S.INCOMING, S.RINGING):
            return self.reject(603)
        if self.state in (S.CONFIRMED, S.ANSWERED):
            return self.bye()
        return []

    def send_dtmf_info(self, digit: str, duration_ms: int = 160) -> list[SessionOutput]:
        """An INFO ``application/dtmf-relay`` (ValueError for a bad digit, nothing sent)."""
        relay = build_dtmf_relay(digit, duration_ms)
        if self.state is not S.CONFIRMED or self.dialog is None:
            raise LocalProtocolError("send INFO", self.state.value, self.role.value)
        request = self.dialog.create_request("INFO", relay.to_body(), DTMF_RELAY)
        return [Send(message=request)]

    # -- from the wire -------------------------------------------------------------------------

    def receive_response(self, response: Response) -> list[SessionOutput]:
        """A provisional or final response to a request this session sent."""
        method = checked_headers.cseq(response).method
        if method == "INVITE":
            return self._invite_response(response)
        if method == "BYE":
            if response.code >= 200 and self.state is S.ENDING:
                self._step("bye_done")
                return self._finish_bye()
            return []
        if method == "INFO" and response.code >= 200:
            if self.dialog is not None:
                self.dialog.receive_response(response)
            return [InfoResult(code=response.code, reason=response.phrase)]
        return []  # CANCEL: what matters is the INVITE's final response

    def request_failed(self, request: Request, code: int, reason: str) -> list[SessionOutput]:
        """No final response to ``request``: 408 (timed out) or 503 (transport)."""
        if request.method == "INVITE" and request is self._invite:
            if self.state in (S.CALLING, S.PROCEEDING, S.CANCELLING):
                outcome = Outcome.CANCELLED if self.state is S.CANCELLING else Outcome.FAILED
                self._step("request_failed")
                return [CancelTimer(name=TIMER_CANCEL), self._end(outcome, code, reason, "local")]
            return []
        if request.method == "BYE" and self.state is S.ENDING:
            self._step("bye_done")
            return self._finish_bye()
        if request.method == "INFO":
            return [InfoResult(code=code, reason=reason)]
        return []

    def transport_failed(self) -> list[SessionOutput]:
        """The connection under the call is gone: it ends now without signalling."""
        if self.state in (S.CALLING, S.PROCEEDING, S.CANCELLING):
            return self.request_failed(self.invite, 503, "transport failed")
        if self.state is S.ENDING:
            self._step("bye_done")
            return self._finish_bye()
        if (self.state, "transport_failed") in TRANSITIONS:
            self._step("transport_failed")
            return [
                *self._stop_timers(),
                self._end(Outcome.FAILED, 503, "transport failed", "remote"),
            ]
        return []

    def receive_request(self, request: Request) -> list[SessionOutput]:
        """An in-dialog request (or ACK / CANCEL) from the far end for this call."""
        method = request.method
        if method == "ACK":
            return self._ack(request)
        if method == "CANCEL":
            return self._cancel_received(request)
        if not self.owns(request):
            return [self._reply(request, 481)]
        assert self.dialog is not None  # owns() needs one
        rejected = self.dialog.receive_request(request)
        if rejected is not None:
            return [self._reply(request, rejected.code, rejected.phrase)]
        if method == "BYE":
            return self._bye_received(request)
        if method == "INFO":
            return self._info(request)
        if method in ("INVITE", "UPDATE"):
            return self._reoffer(request)
        if method == "OPTIONS":
            return [self._reply(request, 200)]
        return [self._reply(request, 501)]

    def timer_fired(self, name: str) -> list[SessionOutput]:
        if name == TIMER_ANSWER and (self.state, "answer_timeout") in TRANSITIONS:
            self._step("answer_timeout")
            response = self._uas_response(480)
            return [
                Respond(request=self.invite, response=response),
                self._end(Outcome.UNANSWERED, 480, response.phrase, "local"),
            ]
        if name == TIMER_2XX and self.state is S.ANSWERED and self._last_2xx is not None:
            self._retransmit_interval = min(self._retransmit_interval * 2, T2)
            return [
                Respond(request=self.invite, response=self._last_2xx),
                StartTimer(name=TIMER_2XX, seconds=self._retransmit_interval),
            ]
        if name == TIMER_ACK and self.state is S.ANSWERED:
            self._step("ack_timeout")
            out: list[SessionOutput] = [CancelTimer(name=TIMER_2XX)]
            out.extend(self._send_bye())
            return out
        if name == TIMER_CANCEL and self.state is S.CANCELLING:
            self._step("cancel_timeout")
            return [self._end(Outcome.CANCELLED, 487, "Request Terminated", "local")]
        return []

    # -- internals: UAC ------------------------------------------------------------------------

    def _invite_response(self, response: Response) -> list[SessionOutput]:
        code = response.code
        if code < 200:
            return self._provisional(response)
        if code < 300:
            return self._success(response)
        if self._final_received or self.state not in (S.CALLING, S.PROCEEDING, S.CANCELLING):
            return []
        if code in (401, 407) and self.state is not S.CANCELLING:
            retry = self._retry_with_credentials(response)
            if retry is not None:
                return retry
        self._final_received = True
        self._cancel_pending = False
        self._step("failure")
        self._early = None
        if self._dialog is not None:
            self._dialog.terminate()
        out: list[SessionOutput] = [CancelTimer(name=TIMER_CANCEL)]
        if self._cancel_requested:
            out.append(self._end(Outcome.CANCELLED, code, response.phrase, "local"))
        else:
            out.append(self._end(Outcome.REJECTED, code, response.phrase, "remote"))
        return out

    def _provisional(self, response: Response) -> list[SessionOutput]:
        if self.role is not Role.UAC or self._final_received:
            return []
        if (self.state, "provisional") not in TRANSITIONS:
            return []
        if not self._same_invite(response):
            return []
        self._step("provisional")
        # The first 1xx with a To tag makes the early dialog; whether it has one is
        # read only when the dialog is needed, or when another 1xx comes.
        if (
            self._dialog is None
            and response.code > 100
            and (self._early is None or not creates_dialog(self._early))
        ):
            self._early = response
        out: list[SessionOutput] = []
        if self._cancel_pending:
            # Any provisional, a hop-by-hop 100 included, shows the INVITE got there (s.9.1).
            out.extend(self._send_cancel())
        if response.code > 100 and self.state is not S.CANCELLING:
            sdp = _sdp_of(response)
            if sdp is not None:
                self.remote_sdp = sdp
            out.append(Progress(code=response.code, reason=response.phrase, sdp=sdp))
        return out

    def _success(self, response: Response) -> list[SessionOutput]:
        if self.role is not Role.UAC or not self._same_invite(response):
            return []
        tag = checked_headers.to_tag(response) or ""
        if self._confirmed_tag is not None:
            dialog = self.dialog
            if tag == self._confirmed_tag and dialog is not None:
                # A retransmitted 2xx: its ACK was lost (s.13.2.2.4).
                return [Send(message=self._ack_for(dialog, response))]
            return self._ack_and_bye_stray(response)
        if self._final_received or self.state in (S.TERMINATED, S.ENDING):
            return self._ack_and_bye_stray(response)
        # An early dialog nobody used yet is not built: the 2xx makes the confirmed one.
        dialog = self._dialog
        if dialog is None or dialog.remote_tag != tag or dialog.state is DialogState.TERMINATED:
            dialog = self._uac_dialog(response)
            self.dialog = dialog
        else:
            dialog.receive_response(response)
        self._confirmed_tag = tag
        self._final_received = True
        ack = Send(message=self._ack_for(dialog, response))
        if self.state is S.CANCELLING:
            # The 2xx crossed our CANCEL: the call exists now, so end it properly.
            self._cancel_pending = False
            self._step("success")
            return [ack, CancelTimer(name=TIMER_CANCEL), *self._send_bye()]
        self._step("success")
        sdp = _sdp_of(response)
        if sdp is not None:
            self.remote_sdp = sdp
        return [ack, Answered(sdp=sdp)]

    def _uac_dialog(self, response: Response) -> Dialog:
        # Our own From and Contact are known: no need to parse them back from the INVITE.
        return Dialog.from_uac(
            self.invite,
            response,
            rng=self._rng,
            local_uri=self._local_uri,
            local_tag=self._local_tag,
            local_contact=_contact_address(self._contact),
        )

    def _ack_and_bye_stray(self, response: Response) -> list[SessionOutput]:
        stray = Dialog.from_uac(self.invite, response, rng=self._rng)
        ack = self._ack_for(stray, response)
        bye = stray.create_request("BYE")
        return [Send(message=ack), Send(message=bye)]

    def _ack_for(self, dialog: Dialog, response: Response) -> Request:
        return dialog.create_ack(response, credentials_from=self.invite)

    def _same_invite(self, response: Response) -> bool:
        """Responses to an INVITE we replaced (after a challenge) are stale."""
        try:
            return (
                checked_headers.cseq(response).sequence
                == checked_headers.cseq(self.invite).sequence
            )
        except ParseError:
            return False

    def _retry_with_credentials(self, response: Response) -> list[SessionOutput] | None:
        if self._digest is None or self._auth_attempts >= MAX_AUTH_ATTEMPTS:
            return None
        verdict = self._digest.handle_challenge(self.invite, response)
        if verdict.outcome is not ChallengeOutcome.ANSWER:
            return None
        self._auth_attempts += 1
        old = self.invite
        invite = Request("INVITE", old.uri, body=old.body)
        sequence = checked_headers.cseq(old).sequence + 1
        names = old.headers.keys()  # sipmessage's Headers is not iterable itself
        for name in names:
            lowered = name.lower()
            if lowered in ("authorization", "proxy-authorization"):
                continue
            for value in old.headers.getlist(name):
                if lowered == "via":
                    value = str(self._via())
                elif lowered == "cseq":
                    value = f"{sequence} INVITE"
                invite.headers.add(name, value)
        self._digest.authorize(invite)
        self._invite = invite
        self.dialog = None
        self._step("challenge")
        return [Send(message=invite)]

    def _send_cancel(self) -> list[SessionOutput]:
        self._cancel_pending = False
        if self._cancel_sent:
            return []
        self._cancel_sent = True
        return [Send(message=build_cancel(self.invite))]

    # -- internals: UAS --------------------------------------------------------------------------

    def _uas_response(self, code: int, reason: str | None = None, body: bytes = b"") -> Response:
        response = response_to(
            self.invite,
            code,
            reason or reason_phrase(code),
            to_tag=self._local_tag,
            body=body,
            content_type=SDP if body else None,
        )
        if code < 300:
            # s.12.1.1: a dialog-creating response carries the request's Record-Route,
            # or the caller's in-dialog requests would bypass the proxies.
            for route in self.invite.headers.getlist("Record-Route"):
                response.headers.add("Record-Route", route)
            response.headers.add("Contact", f"<{self._contact}>")
            response.headers.add("Allow", ALLOW)
        return response

    def _ensure_uas_dialog(self, response: Response) -> None:
        if self.dialog is None:
            self.dialog = Dialog.from_uas(
                self.invite,
                response,
                local_via=self._local_via,
                rng=self._rng,
                local_tag=self._local_tag,
                local_contact=_contact_address(self._contact),
            )

    def _ack(self, ack: Request) -> list[SessionOutput]:
        if self.state is not S.ANSWERED:
            return []  # an ACK for a re-INVITE's 2xx, or a late duplicate
        try:
            same = checked_headers.cseq(ack).sequence == checked_headers.cseq(self.invite).sequence
        except ParseError:
            return []
        if not same:
            return []
        self._step("ack")
        self._last_2xx = None
        out: list[SessionOutput] = [CancelTimer(name=TIMER_ACK), CancelTimer(name=TIMER_2XX)]
        out.append(Confirmed())
        if self._bye_after_ack:
            self._step("bye")
            out.extend(self._send_bye())
        return out

    def _cancel_received(self, cancel: Request) -> list[SessionOutput]:
        if not self.is_cancel_for_us(cancel):
            # Same Call-ID, another INVITE (s.9.2 matches CANCEL by transaction).
            return [self._reply(cancel, 481)]
        ok = self._reply(cancel, 200)
        if (self.state, "cancelled") not in TRANSITIONS:
            return [ok]  # the final response went first: the CANCEL changes nothing (s.9.2)
        self._step("cancelled")
        terminated = self._uas_response(487)
        return [
            ok,
            CancelTimer(name=TIMER_ANSWER),
            Respond(request=self.invite, response=terminated),
            self._end(Outcome.CANCELLED, 487, "Request Terminated", "remote"),
        ]

    # -- internals: both -----------------------------------------------------------------------

    def _bye_received(self, bye: Request) -> list[SessionOutput]:
        before = self.state
        if (before, "bye_received") not in TRANSITIONS:
            return [self._reply(bye, 481)]
        self._step("bye_received")
        out: list[SessionOutput] = [self._reply(bye, 200), *self._stop_timers()]
        if before in (S.INCOMING, S.RINGING):
            out.append(Respond(request=self.invite, response=self._uas_response(487)))
        if before is S.ENDING:
            out.append(self._end(Outcome.HUNG_UP, 200, "OK", "local"))
        elif before in (S.PROCEEDING, S.CANCELLING, S.INCOMING, S.RINGING):
            out.append(self._end(Outcome.CANCELLED, 487, "Request Terminated", "remote"))
        else:
            out.append(self._end(Outcome.HUNG_UP, 200, "OK", "remote"))
        return out

    def _info(self, info: Request) -> list[SessionOutput]:
        ok = self._reply(info, 200)
        content_type = (info.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != DTMF_RELAY:
            return [ok, InfoIgnored(reason=f"INFO with content type {content_type or 'none'}")]
        try:
            relay = parse_dtmf_relay(info.body)
        except ParseError as exc:
            return [ok, InfoIgnored(reason=str(exc))]
        return [ok, DtmfReceived(digit=relay.digit, duration_ms=relay.duration_ms)]

    def _reoffer(self, request: Request) -> list[SessionOutput]:
        if self.state is not S.CONFIRMED or self._local_sdp is None:
            # s.14.2: an offer while ours is unanswered (or the call is ending).
            return [self._reply(request, 491)]
        try:
            offer = _sdp_of(request)
            direction = offered_direction(offer) if offer is not None else None
        except ParseError:
            return [self._reply(request, 488)]
        if direction is None:
            if request.method == "UPDATE":
                return [self._reply(request, 200)]  # a session refresh without an offer
            body = self._local_sdp  # a re-INVITE without an offer: ours goes in the 2xx
            return [self._reply(request, 200, body=body.encode("utf-8"))]
        assert offer is not None
        self.remote_sdp = offer
        answer = with_direction(self._local_sdp, answer_direction(direction))
        out: list[SessionOutput] = [self._reply(request, 200, body=answer.encode("utf-8"))]
        if direction != self._remote_direction:
            self._remote_direction = direction
            out.append(
                RemoteDirection(direction=direction, on_hold=direction in ("sendonly", "inactive"))
            )
        return out

    def _reply(
        self, request: Request, code: int, reason: str | None = None, body: bytes = b""
    ) -> Respond:
        tag = None
        if not checked_headers.to_tag(request):
            tag = self._local_tag
        response = response_to(
            request,
            code,
            reason,
            to_tag=tag,
            body=body,
            content_type=SDP if body else None,
        )
        if code < 300 and request.method in ("INVITE", "UPDATE"):
            response.headers.add("Contact", f"<{self._contact}>")
        return Respond(request=request, response=response)

    def _send_bye(self) -> list[SessionOutput]:
        dialog = self.dialog
        if dialog is None or dialog.state is DialogState.TERMINATED:
            self.state = S.TERMINATED
            return [self._end(Outcome.HUNG_UP, 200, "OK", "local")]
        return [Send(message=dialog.create_request("BYE"))]

    def _finish_bye(self) -> list[SessionOutput]:
        if self.dialog is not None:
            self.dialog.terminate()
        if self._cancel_requested:
            return [self._end(Outcome.CANCELLED, 487, "Request Terminated", "local")]
        if self._last_2xx is not None:
            # Our 2xx was never ACKed.
            return [self._end(Outcome.FAILED, 408, "No ACK for the 2xx", "local")]
        return [self._end(Outcome.HUNG_UP, 200, "OK", "local")]

    def _stop_timers(self) -> list[SessionOutput]:
        return [
            CancelTimer(name=name) for name in (TIMER_ANSWER, TIMER_ACK, TIMER_2XX, TIMER_CANCEL)
        ]

    def _end(self, outcome: Outcome, code: int, reason: str, by: str) -> Ended:
        if self._ended:
            raise LocalProtocolError("end twice", self.state.value, self.role.value)
        self._ended = True
        self._early = None
        if self._dialog is not None:
            self._dialog.terminate()
        return Ended(outcome=outcome, code=code, reason=reason, by=by)

    def _via(self) -> Via:
        via = self._local_via
        return Via(
            via.transport, via.host, via.port, via.parameters.replace(branch=new_branch(self._rng))
        )

    def _require_role(self, role: Role, event: str) -> None:
        if self.role is not role:
            raise LocalProtocolError(event, self.state.value, self.role.value)

    def _step(self, event: str) -> None:
        following = TRANSITIONS.get((self.state, event))
        if following is None:
            # Local calls in the wrong state end here; remote input is checked against
            # TRANSITIONS before stepping and absorbed instead.
            raise LocalProtocolError(event, self.state.value, self.role.value)
        self.state = following
