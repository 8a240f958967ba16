"""SIP dialogs (RFC 3261 section 12) as plain state, sans-IO.

Creation:

- ``Dialog.from_uac(request, response)``: we sent ``request`` (INVITE,
  SUBSCRIBE, REFER) and got ``response``: a 1xx with a To tag makes an early
  dialog, a 2xx a confirmed one (``creates_dialog(response)`` says which
  responses qualify). Route set = the response's Record-Route reversed; remote
  target = its Contact; local CSeq = the request's; our Via transport and
  sent-by are reused from the request.
- ``Dialog.from_uas(request, response, local_via=Via(...))``: we answer
  ``request`` with ``response`` carrying our To tag (1xx: early, 2xx:
  confirmed). Route set = the request's Record-Route in order; remote target =
  its Contact; remote CSeq = the request's. ``response_sent(final)`` later
  confirms (2xx) or ends (3xx-6xx) an early UAS dialog.

Use:

- ``create_request(method, body=b"", content_type=None, headers=())`` builds
  BYE, INFO, REFER, NOTIFY, re-INVITE, UPDATE, ... with the next local CSeq,
  From/To with both tags, a fresh Via branch, Contact for target-refresh and
  REFER requests, and the Request-URI/Route from the route set: loose routing
  (``lr`` on the first route) keeps the remote target as Request-URI; strict
  routing puts the first route there and the remote target last in Route.
- ``create_ack(response_2xx, body=b"", ...)``: the ACK for a 2xx to INVITE, with
  the INVITE's CSeq number (``credentials_from=invite`` copies its
  Authorization / Proxy-Authorization, section 22).
- ``receive_request(request)``: an incoming in-dialog request. Returns None
  when it may proceed, or ``RejectRequest(code, phrase)`` to answer with: 500
  for a CSeq lower than the last one (out of order), 481 once terminated. A
  target-refresh request (INVITE, UPDATE, SUBSCRIBE, NOTIFY) replaces the
  remote target with its Contact; BYE terminates the dialog.
- ``receive_response(response)``: a response to a request we sent in the
  dialog. Confirms an early UAC dialog on the 2xx (recomputing its route set),
  ends it on a non-2xx final of the creating INVITE, refreshes the remote
  target on a 2xx to a target refresh, ends the dialog on 481 or 408.
- ``terminate()``; ``state`` (``DialogState``), ``id``, ``route_set``,
  ``remote_target``, ``local_seq``, ``remote_seq``.

Matching: ``id_for_request(request)`` (incoming: Call-ID, To tag, From tag)
and ``id_for_response(response)`` (UAC: Call-ID, From tag, To tag) give the
``DialogId(call_id, local_tag, remote_tag)`` an owner keys its dialogs by.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable
from dataclasses import dataclass

from sipmessage import URI, Address, Parameters, Request, Response, Via

from . import checked_headers
from .errors import LocalProtocolError
from .identifiers import new_branch
from .request_start import start_request

TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY"})
# Methods whose requests carry our Contact: target refreshes, and REFER (RFC 3515).
_CONTACT_METHODS = TARGET_REFRESH_METHODS | {"REFER"}
# Request-URI parameters RFC 3261 table 1 does not allow in a Request-URI.
_NOT_IN_REQUEST_URI = ("method",)
_MAX_INITIAL_CSEQ = 2**31 - 1
_SYSTEM_RANDOM = random.SystemRandom()


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class DialogId:
    call_id: str
    local_tag: str
    remote_tag: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RejectRequest:
    """Answer the in-dialog request with this status instead of processing it."""

    code: int
    phrase: str


def id_for_request(request: Request) -> DialogId:
    """The id of the dialog an incoming request belongs to (ours is the To tag)."""
    return DialogId(
        checked_headers.header(request, "Call-ID"),
        checked_headers.to_tag(request) or "",
        checked_headers.from_tag(request) or "",
    )


def id_for_response(response: Response) -> DialogId:
    """The id of the UAC dialog a response belongs to (ours is the From tag)."""
    return DialogId(
        checked_headers.header(response, "Call-ID"),
        checked_headers.from_tag(response) or "",
        checked_headers.to_tag(response) or "",
    )


def creates_dialog(response: Response) -> bool:
    """A 2xx, or a 101-199 with a To tag (section 12.1)."""
    if 200 <= response.code < 300:
        return True
    return 100 < response.code < 200 and bool(checked_headers.to_tag(response))


def _without_tag(address: Address) -> Address:
    kept = {k: v for k, v in address.parameters.items() if k != "tag"}
    return Address(uri=address.uri, name=address.name, parameters=Parameters(**kept))


def _with_tag(address: Address, tag: str) -> str:
    if not tag:
        return str(address)
    return str(Address(address.uri, address.name, address.parameters.replace(tag=tag)))


def _via_template(via: Via) -> Via:
    """Our transport and sent-by, without the per-request branch and any
    parameters a proxy may have added."""
    kept = Parameters(rport=None) if "rport" in via.parameters else Parameters()
    return Via(transport=via.transport, host=via.host, port=via.port, parameters=kept)


class Dialog:
    __slots__ = (
        "_contact_text",
        "_from_text",
        "_rng",
        "_routing",
        "_to_text",
        "call_id",
        "creating_seq",
        "local_contact",
        "local_seq",
        "local_tag",
        "local_uri",
        "local_via",
        "remote_seq",
        "remote_tag",
        "remote_target",
        "remote_uri",
        "role",
        "route_set",
        "secure",
        "state",
    )

    def __init__(
        self,
        *,
        role: str,
        state: DialogState,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: Address,
        remote_uri: Address,
        remote_target: URI,
        route_set: list[Address],
        local_seq: int | None,
        remote_seq: int | None,
        creating_seq: int,
        local_contact: Address | None,
        local_via: Via,
        secure: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.role = role
        self.state = state
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.creating_seq = creating_seq
        self.local_contact = local_contact
        self.local_via = local_via
        self.secure = secure
        self._rng = rng or _SYSTEM_RANDOM
        # Rendered header text, kept with what it was rendered from: every request of
        # the dialog repeats it, and rendering an Address quotes each URI part again.
        self._from_text: tuple[Address, str, str] | None = None
        self._to_text: tuple[Address, str, str] | None = None
        self._contact_text: tuple[Address, str] | None = None
        self._routing: tuple[tuple[Address, ...], URI, URI, list[str]] | None = None

    @classmethod
    def from_uac(
        cls,
        request: Request,
        response: Response,
        *,
        local_via: Via | None = None,
        rng: random.Random | None = None,
        local_uri: Address | None = None,
        local_tag: str | None = None,
        local_contact: Address | None = None,
    ) -> Dialog:
        """``local_uri`` (From without its tag), ``local_tag`` and ``local_contact``:
        what the request says, when its sender knows it without parsing it back."""
        if not creates_dialog(response):
            raise LocalProtocolError(f"create from {response.code}", "none", "UAC dialog")
        contact = checked_headers.contact_uri(response)
        if local_contact is None:
            local_contacts = checked_headers.contacts(request)
            local_contact = local_contacts[0] if local_contacts else None
        if local_uri is None or local_tag is None:
            local_tag = checked_headers.from_tag(request) or ""
            local_uri = _without_tag(checked_headers.from_address(request))
        return cls(
            role="UAC",
            state=DialogState.EARLY if response.code < 200 else DialogState.CONFIRMED,
            call_id=checked_headers.header(request, "Call-ID"),
            local_tag=local_tag,
            remote_tag=checked_headers.to_tag(response) or "",
            local_uri=local_uri,
            remote_uri=_without_tag(checked_headers.to_address(response)),
            remote_target=contact if contact is not None else request.uri,
            route_set=list(reversed(checked_headers.record_route(response))),
            local_seq=checked_headers.cseq(request).sequence,
            remote_seq=None,
            creating_seq=checked_headers.cseq(request).sequence,
            local_contact=local_contact,
            local_via=local_via or _via_template(checked_headers.top_via(request)),
            secure=request.uri.scheme == "sips",
            rng=rng,
        )

    @classmethod
    def from_uas(
        cls,
        request: Request,
        response: Response,
        *,
        local_via: Via,
        rng: random.Random | None = None,
        local_tag: str | None = None,
        local_contact: Address | None = None,
    ) -> Dialog:
        """``local_tag`` and ``local_contact``: what the response says (its To tag and
        Contact), when its sender knows it without parsing it back."""
        if local_tag is None:
            local_tag = checked_headers.to_tag(response)
        if not local_tag or not 100 < response.code < 300:
            raise LocalProtocolError(f"create from {response.code}", "none", "UAS dialog")
        contact = checked_headers.contact_uri(request)
        if local_contact is None:
            local_contacts = checked_headers.contacts(response)
            local_contact = local_contacts[0] if local_contacts else None
        sequence = checked_headers.cseq(request).sequence
        return cls(
            role="UAS",
            state=DialogState.EARLY if response.code < 200 else DialogState.CONFIRMED,
            call_id=checked_headers.header(request, "Call-ID"),
            local_tag=local_tag,
            remote_tag=checked_headers.from_tag(request) or "",
            local_uri=_without_tag(checked_headers.to_address(request)),
            remote_uri=_without_tag(checked_headers.from_address(request)),
            remote_target=contact if contact is not None else request.uri,
            route_set=checked_headers.record_route(request),
            local_seq=None,
            remote_seq=sequence,
            creating_seq=sequence,
            local_contact=local_contact,
            local_via=_via_template(local_via),
            secure=request.uri.scheme == "sips",
            rng=rng,
        )

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED

    def response_sent(self, response: Response) -> None:
        """UAS: our final response to the request that created the early dialog."""
        if self.state is DialogState.EARLY and response.code >= 200:
            ok = response.code < 300
            self.state = DialogState.CONFIRMED if ok else DialogState.TERMINATED

    def receive_response(self, response: Response) -> DialogState:
        """A response to a request we sent within this dialog (or to the one
        that created it)."""
        cseq = checked_headers.cseq(response)
        code = response.code
        if self.state is DialogState.TERMINATED:
            return self.state
        creating = (
            self.role == "UAC" and cseq.sequence == self.creating_seq and cseq.method != "CANCEL"
        )
        if creating and self.state is DialogState.EARLY:
            if 200 <= code < 300:
                self.state = DialogState.CONFIRMED
                self.route_set = list(reversed(checked_headers.record_route(response)))
            elif code >= 300:
                self.state = DialogState.TERMINATED
                return self.state
        if code in (408, 481):
            self.state = DialogState.TERMINATED
        elif code < 300 and cseq.method in TARGET_REFRESH_METHODS:
            contact = checked_headers.contact_uri(response)
            if contact is not None:
                self.remote_target = contact
        return self.state

    def receive_request(self, request: Request) -> RejectRequest | None:
        """Check and absorb an incoming in-dialog request (section 12.2.2)."""
        if self.state is DialogState.TERMINATED:
            return RejectRequest(code=481, phrase="Call/Transaction Does Not Exist")
        if request.method in ("ACK", "CANCEL"):
            # They reuse the CSeq number of the INVITE they belong to.
            return None
        sequence = checked_headers.cseq(request).sequence
        if self.remote_seq is not None and sequence < self.remote_seq:
            return RejectRequest(code=500, phrase="Server Internal Error")
        self.remote_seq = sequence
        if request.method in TARGET_REFRESH_METHODS:
            contact = checked_headers.contact_uri(request)
            if contact is not None:
                self.remote_target = contact
        elif request.method == "BYE":
            self.state = DialogState.TERMINATED
        return None

    def create_request(
        self,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Request:
        """The next request within the dialog; increments the local CSeq."""
        if self.state is DialogState.TERMINATED or method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"create {method}", self.state.value, f"{self.role} dialog")
        if self.local_seq is None:
            self.local_seq = self._rng.randint(1, _MAX_INITIAL_CSEQ)
        else:
            self.local_seq += 1
        return self._build(method, self.local_seq, body, content_type, headers)

    def create_ack(
        self,
        response: Response,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        *,
        credentials_from: Request | None = None,
    ) -> Request:
        """The ACK for a 2xx to INVITE (section 13.2.2.4); the local CSeq is unchanged."""
        cseq = checked_headers.cseq(response)
        if cseq.method != "INVITE" or not 200 <= response.code < 300:
            raise LocalProtocolError(
                f"ACK {response.code} {cseq.method}", self.state.value, f"{self.role} dialog"
            )
        extra = list(headers)
        if credentials_from is not None:
            for name in ("Authorization", "Proxy-Authorization"):
                extra += [(name, value) for value in credentials_from.headers.getlist(name)]
        return self._build("ACK", cseq.sequence, body, content_type, extra)

    def _request_uri_and_routes(self) -> tuple[URI, list[str]]:
        route_set = tuple(self.route_set)
        cached = self._routing
        if cached is not None and cached[0] == route_set and cached[1] is self.remote_target:
            return cached[2], cached[3]
        uri, routes = self._route(route_set)
        self._routing = (route_set, self.remote_target, uri, routes)
        return uri, routes

    def _route(self, route_set: tuple[Address, ...]) -> tuple[URI, list[str]]:
        if not route_set:
            return self.remote_target, []
        first = route_set[0]
        if "lr" in first.uri.parameters:
            return self.remote_target, [str(route) for route in route_set]
        # Strict router (RFC 2543): it takes the Request-URI as its route.
        kept = {k: v for k, v in first.uri.parameters.items() if k not in _NOT_IN_REQUEST_URI}
        uri = URI(
            scheme=first.uri.scheme,
            host=first.uri.host,
            user=first.uri.user,
            port=first.uri.port,
            parameters=Parameters(**kept),
        )
        routes = [str(route) for route in route_set[1:]]
        routes.append(str(Address(uri=self.remote_target)))
        return uri, routes

    def _from_header(self) -> str:
        cached = self._from_text
        if cached is None or cached[0] is not self.local_uri or cached[1] != self.local_tag:
            text = _with_tag(self.local_uri, self.local_tag)
            cached = self._from_text = (self.local_uri, self.local_tag, text)
        return cached[2]

    def _to_header(self) -> str:
        cached = self._to_text
        if cached is None or cached[0] is not self.remote_uri or cached[1] != self.remote_tag:
            text = _with_tag(self.remote_uri, self.remote_tag)
            cached = self._to_text = (self.remote_uri, self.remote_tag, text)
        return cached[2]

    def _contact_header(self, contact: Address) -> str:
        cached = self._contact_text
        if cached is None or cached[0] is not contact:
            cached = self._contact_text = (contact, str(contact))
        return cached[1]

    def _build(
        self,
        method: str,
        sequence: int,
        body: bytes,
        content_type: str | None,
        headers: Iterable[tuple[str, str]],
    ) -> Request:
        uri, routes = self._request_uri_and_routes()
        via = self.local_via
        branch = new_branch(self._rng)
        request = start_request(
            method,
            uri,
            via=Via(via.transport, via.host, via.port, via.parameters.replace(branch=branch)),
            from_=self._from_header(),
            to=self._to_header(),
            call_id=self.call_id,
            cseq=sequence,
            routes=routes,
            body=body,
        )
        if method in _CONTACT_METHODS and self.local_contact is not None:
            request.headers.add("Contact", self._contact_header(self.local_contact))
        for name, value in headers:
            request.headers.add(name, value)
        if content_type is not None:
            request.headers.add("Content-Type", content_type)
        request.headers.add("Content-Length", str(len(body)))
        return request
