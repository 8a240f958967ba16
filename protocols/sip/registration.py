"""Registration as a sans-IO usage (RFC 3261 s.10, RFC 5626 outbound, RFC 7118 WebSocket).

The owner keeps one ``Registration`` per account for the account's whole life,
across reconnects: the Call-ID never changes and the CSeq only grows
(s.10.2), and ``transport_reset`` forgets what was in flight on a dead
connection. Every method returns the actions to perform (``Send`` a REGISTER
in a client transaction, start or cancel the ``refresh`` timer) followed by the
events to report (``Registered``, ``RegistrationFailed``, ``Unregistered``).
"""

from __future__ import annotations

import functools
import random
from typing import Final

from sipmessage import URI, Request, Response

from .actions import CancelTimer, Send, StartTimer
from .address_of_record import PLAIN_USER, aor_parts, plain_aor_parts
from .configured_uri import parse_configured_uri
from .digest import ChallengeOutcome, DigestClient, DigestCredentials
from .digest_header import DigestChallenge
from .identifiers import CALL_ID_LENGTH, TAG_LENGTH, new_branch, random_token, uuid4_urn
from .outgoing_headers import FieldLayout, OutgoingHeaders
from .outgoing_request import OutgoingRequest
from .registration_events import (
    Registered,
    RegistrationEvent,
    RegistrationFailed,
    RegistrationInput,
    RegistrationState,
    Unregistered,
    next_state,
)
from .registration_timing import granted_expiry, leading_seconds, refresh_delay

RegistrationOutput = Send | StartTimer | CancelTimer | RegistrationEvent

REFRESH_TIMER = "refresh"
DEFAULT_EXPIRES = 600
DEFAULT_USER_AGENT = "kazoo-actors"
# Each answer to a challenge costs a round trip; a server that keeps sending
# stale nonces or new realms must not keep us busy forever.
MAX_CHALLENGES_PER_ATTEMPT = 3
MAX_INTERVAL_RETRIES = 2

_SYSTEM_RANDOM = random.SystemRandom()
# The members as module constants: compiled (setup.py), a constant is a C static,
# while ``RegistrationState.IDLE`` is an attribute lookup on the Enum class (a
# microsecond or so per registration over the handful every REGISTER passes).
_IDLE: Final = RegistrationState.IDLE
_REGISTERING: Final = RegistrationState.REGISTERING
_REGISTERED: Final = RegistrationState.REGISTERED
_UNREGISTERING: Final = RegistrationState.UNREGISTERING
_REGISTER: Final = RegistrationInput.REGISTER
_UNREGISTER: Final = RegistrationInput.UNREGISTER
_REFRESH_TIMER: Final = RegistrationInput.REFRESH_TIMER
_RETRY: Final = RegistrationInput.RETRY
_ACCEPTED: Final = RegistrationInput.ACCEPTED
_REJECTED: Final = RegistrationInput.REJECTED
_REQUEST_FAILED: Final = RegistrationInput.REQUEST_FAILED
_TRANSPORT_RESET: Final = RegistrationInput.TRANSPORT_RESET


MAX_FORWARDS = "70"
SUPPORTED = "path, outbound"
# Every REGISTER's fields, in this order; the credentials (one field per
# realm's header) go between these and Content-Length.
_REGISTER_FIELDS = FieldLayout(
    (
        "Via",
        "Max-Forwards",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Expires",
        "Supported",
        "User-Agent",
    )
)


_HOST_LABEL_LENGTH: Final = 12


def _contact_host(label: str) -> str:
    """Our Contact and Via host: a WebSocket client has no address the server could reach,
    so, as in RFC 7118's examples, a random label under .invalid."""
    return f"{label}.invalid"


@functools.lru_cache(maxsize=16)
def _layout(credential_names: tuple[str, ...]) -> FieldLayout | None:
    """The REGISTER layout with these credential fields, None when a name repeats."""
    if len(set(credential_names)) != len(credential_names):
        return None
    return FieldLayout((*_REGISTER_FIELDS.names, *credential_names, "Content-Length"))


@functools.lru_cache(maxsize=64)
def _registrar_uri(text: str) -> tuple[URI, str]:
    """Parsed and rendered once per registrar: thousands of accounts usually share a few."""
    uri = parse_configured_uri(text, "registrar")
    return uri, str(uri)


class Registration:
    """One account's registration binding, driven by responses, timers and calls."""

    __slots__ = (
        "_accepted_challenge",
        "_adoption_refused",
        "_adoption_suspect",
        "_aor",
        "_call_id",
        "_challenges",
        "_contact_host",
        "_contact_prefix",
        "_contact_user",
        "_cseq",
        "_digest",
        "_expires",
        "_expires_at",
        "_from_value",
        "_granted_prefix",
        "_in_flight",
        "_in_flight_expires",
        "_instance",
        "_instance_value",
        "_interval_retries",
        "_plain_user",
        "_reg_id",
        "_registrar_text",
        "_registrar_uri",
        "_rng",
        "_sent_at",
        "_state",
        "_timer",
        "_to_value",
        "_user_agent",
        "_via_prefix",
        "_via_transport",
    )

    def __init__(
        self,
        *,
        aor: str,
        credentials: DigestCredentials,
        registrar: str | None = None,
        expires: int = DEFAULT_EXPIRES,
        secure: bool = True,
        user_agent: str = DEFAULT_USER_AGENT,
        instance_id: str | None = None,
        reg_id: int = 1,
        rng: random.Random | None = None,
        timer_name: str = REFRESH_TIMER,
    ) -> None:
        """``timer_name`` names the refresh timer in the actions (an owner that keeps
        several usages' timers in one table picks a name of its own)."""
        plain = plain_aor_parts(aor)
        scheme, user, host = plain if plain is not None else aor_parts(aor)
        # A Contact user that header_checks' plain address shape reads as the user, so
        # that a plain 2xx Contact starting with our URI is our binding (granted_expiry);
        # a plain AOR's user is one (the same PLAIN_USER), checked already.
        self._plain_user = plain is not None or PLAIN_USER.fullmatch(user) is not None
        if expires <= 0:
            raise ValueError("expires must be positive")
        self._rng = rng or _SYSTEM_RANDOM
        self._timer = timer_name
        self._aor = aor
        self._registrar_uri, self._registrar_text = _registrar_uri(registrar or f"{scheme}:{host}")
        self._contact_user = user
        # The Contact host label, Call-ID and From tag cut from one draw: each draw
        # from the system source is a syscall, and a Python call or two, for every
        # account created.
        tokens = random_token(_HOST_LABEL_LENGTH + CALL_ID_LENGTH + TAG_LENGTH, self._rng)
        call_id_end = _HOST_LABEL_LENGTH + CALL_ID_LENGTH
        contact_host = _contact_host(tokens[:_HOST_LABEL_LENGTH])
        self._instance = instance_id or uuid4_urn(self._rng.getrandbits(128))
        self._instance_value = f"<{self._instance}>"
        self._reg_id = reg_id
        self._via_transport = "WSS" if secure else "WS"
        self._user_agent = user_agent
        self._call_id = tokens[_HOST_LABEL_LENGTH:call_id_end]
        # The From and Contact text of every REGISTER of this account, rendered
        # once rather than per request.
        self._from_value = f"<{aor}>;tag={tokens[call_id_end:]}"
        self._to_value = f"<{aor}>"
        self._via_prefix = ""
        self._contact_host = ""
        self._contact_prefix = ""
        self._granted_prefix = ""
        self._use_contact_host(contact_host)
        self._cseq = 0
        self._expires = expires
        self._digest = DigestClient(credentials, self._rng)
        self._state = _IDLE
        self._in_flight: Request | None = None
        self._in_flight_expires = 0
        self._sent_at = 0.0
        self._expires_at: float | None = None
        self._challenges = 0
        self._interval_retries = 0
        self._accepted_challenge: DigestChallenge | None = None
        self._adoption_refused = False
        self._adoption_suspect = False

    def __repr__(self) -> str:
        return (
            f"Registration(aor={self._aor!r}, state={self._state.value}, "
            f"cseq={self._cseq}, expires_at={self._expires_at!r})"
        )

    # -- what the owner may look at ------------------------------------------------

    @property
    def state(self) -> RegistrationState:
        return self._state

    @property
    def call_id(self) -> str:
        return self._call_id

    @property
    def cseq(self) -> int:
        return self._cseq

    @property
    def contact(self) -> str:
        """Our Contact URI, to recognise it in registration-overwrite NOTIFYs."""
        return f"sip:{self._contact_user}@{self._contact_host};transport=ws"

    @property
    def instance(self) -> str:
        return self._instance

    @property
    def expires_at(self) -> float | None:
        """When the current binding lapses (owner's clock), None when not registered."""
        return self._expires_at

    # -- calls from the owner ----------------------------------------------------

    def register(self, now: float) -> list[RegistrationOutput]:
        """Start (or refresh now) the binding."""
        was_registered = self._state is _REGISTERED
        self._state = next_state(self._state, _REGISTER)
        send = self._start_attempt(self._expires, now)
        if was_registered:
            return [CancelTimer(name=self._timer), send]
        return [send]

    def unregister(self, now: float) -> list[RegistrationOutput]:
        """Remove the binding (Expires: 0); waits for a REGISTER already in flight."""
        previous = self._state
        self._state = next_state(self._state, _UNREGISTER)
        self._expires_at = None
        if previous is _REGISTERING:
            return []
        send = self._start_attempt(0, now)
        if previous is _REGISTERED:
            return [CancelTimer(name=self._timer), send]
        return [send]

    def timer_fired(self, name: str, now: float) -> list[RegistrationOutput]:
        if name != self._timer or self._state is not _REGISTERED:
            return []  # a timer that lost a race with a cancel
        self._state = next_state(self._state, _REFRESH_TIMER)
        return [self._start_attempt(self._expires, now)]

    def adopt_challenge(self, challenge: DigestChallenge) -> bool:
        """Send the next REGISTER with credentials for ``challenge``, a recent nonce of
        this registrar received by another registration (see ``DigestClient.adopt``):
        one round trip instead of two when the registrar accepts it."""
        return self._digest.adopt(challenge)

    def take_adoption_refused(self) -> bool:
        """True once after the registrar refused an adopted nonce with 403 (a registrar
        that forbids what it does not know instead of challenging it): better not to
        offer its nonces to other registrations."""
        refused, self._adoption_refused = self._adoption_refused, False
        return refused

    def take_accepted_challenge(self) -> DigestChallenge | None:
        """The challenge this registration received itself and then registered with,
        once: worth offering to other registrations with the same registrar."""
        accepted, self._accepted_challenge = self._accepted_challenge, None
        return accepted

    def transport_reset(self, now: float, *, new_contact: bool = False) -> list[RegistrationOutput]:
        """The connection is gone: forget the request in flight and the binding.

        Call-ID and CSeq carry on. ``new_contact`` draws a fresh ``.invalid``
        host for the next Contact and Via; the +sip.instance stays, so the
        registrar replaces the old flow's binding rather than adding one.
        """
        del now  # part of the uniform signature; nothing here depends on time
        was_registered = self._state is _REGISTERED
        self._state = next_state(self._state, _TRANSPORT_RESET)
        self._in_flight = None
        self._expires_at = None
        self._accepted_challenge = None
        self._adoption_suspect = False
        self._digest.take_learned()  # learned on the old connection: maybe long ago
        if new_contact:
            self._use_contact_host(self._draw_contact_host())
        return [CancelTimer(name=self._timer)] if was_registered else []

    def request_failed(
        self, reason: str, now: float, *, code: int = 408
    ) -> list[RegistrationOutput]:
        """The request in flight timed out (408) or its transport failed (503)."""
        del now
        if self._in_flight is None:
            return []
        self._in_flight = None
        self._state = next_state(self._state, _REQUEST_FAILED)
        if self._state is _IDLE:
            return [Unregistered(confirmed=False)]
        return [RegistrationFailed(code=code, reason=reason, local=True)]

    def receive_response(self, response: Response, now: float) -> list[RegistrationOutput]:
        request = self._in_flight
        if request is None or not self._answers(request, response):
            return []
        code = response.code
        if code < 200:
            return []
        self._in_flight = None
        if self._state is _UNREGISTERING and self._in_flight_expires > 0:
            return self._after_deferred_register(request, response, now)
        if self._adoption_suspect:
            # The REGISTER after a 403 to borrowed credentials went out without them: a
            # challenge or a success now says the 403 was about the nonce, not the user.
            self._adoption_suspect = False
            self._adoption_refused = code in (401, 407) or 200 <= code < 300
        if code in (401, 407):
            return self._on_challenge(request, response, now)
        if code == 403 and self._digest.sent_adopted(request):
            # Maybe not a verdict on us: the credentials were for someone else's nonce.
            self._digest.drop_adopted()
            self._adoption_suspect = True
            return self._retry(now)
        if code == 423:
            return self._on_interval_too_brief(request, response, now)
        if 200 <= code < 300:
            return self._on_success(response, now)
        return self._on_failure(response)

    # -- internals -----------------------------------------------------------------

    def _answers(self, request: Request, response: Response) -> bool:
        try:
            cseq = response.cseq
        except ValueError:
            return False
        return (
            cseq.sequence == self._cseq
            and cseq.method == "REGISTER"
            and response.headers.get("Call-ID") == self._call_id
        )

    def _draw_contact_host(self) -> str:
        return _contact_host(random_token(_HOST_LABEL_LENGTH, self._rng))

    def _use_contact_host(self, host: str) -> None:
        """The ``.invalid`` host of our Contact and Via, and the Contact text built on it."""
        self._contact_host = host
        # What str(Via) renders with the branch appended: the host and the
        # branch are letters, digits and dots, which sipmessage's parameter
        # quoting leaves as they are.
        self._via_prefix = f"SIP/2.0/{self._via_transport} {host};branch="
        contact = self.contact
        self._contact_prefix = (
            f'<{contact}>;+sip.instance="{self._instance_value}";reg-id={self._reg_id};expires='
        )
        self._granted_prefix = f"<{contact}>;expires=" if self._plain_user else ""

    def _start_attempt(self, expires: int, now: float) -> Send:
        self._challenges = 0
        self._interval_retries = 0
        return self._send(expires, now)

    def _send(self, expires: int, now: float) -> Send:
        self._cseq += 1
        branch = new_branch(self._rng)
        seconds = str(expires)
        values = (
            self._via_prefix + branch,
            MAX_FORWARDS,
            self._from_value,
            self._to_value,
            self._call_id,
            f"{self._cseq} REGISTER",
            self._contact_prefix + seconds,
            seconds,
            SUPPORTED,
            self._user_agent,
        )
        credentials = self._digest.credentials("REGISTER", self._registrar_text)
        layout = _layout(tuple([name for name, _ in credentials]))
        if layout is not None:
            headers = OutgoingHeaders(
                layout,
                (*values, *[value for _, value in credentials], "0"),
                client_key=(branch, "REGISTER"),
            )
        else:
            # Several credentials under one header name (several realms): they
            # share one field, which the general store's add() gives them.
            headers = OutgoingHeaders(_REGISTER_FIELDS, values, client_key=(branch, "REGISTER"))
            for name, value in credentials:
                headers.add(name, value)
            headers.add("Content-Length", "0")
        request = OutgoingRequest(
            "REGISTER", self._registrar_uri, uri_text=self._registrar_text, headers=headers
        )
        self._in_flight = request
        self._in_flight_expires = expires
        self._sent_at = now
        return Send(message=request)

    def _retry(self, now: float) -> list[RegistrationOutput]:
        self._state = next_state(self._state, _RETRY)
        return [self._send(self._in_flight_expires, now)]

    def _fail(
        self, code: int, reason: str, retry_after: int | None = None
    ) -> list[RegistrationOutput]:
        self._state = next_state(self._state, _REJECTED)
        self._expires_at = None
        if self._state is _IDLE:
            return [Unregistered(confirmed=False)]
        return [RegistrationFailed(code=code, reason=reason, retry_after=retry_after)]

    def _on_challenge(
        self, request: Request, response: Response, now: float
    ) -> list[RegistrationOutput]:
        verdict = self._digest.handle_challenge(request, response)
        if verdict.outcome is not ChallengeOutcome.ANSWER:
            return self._fail(response.code, verdict.reason or response.phrase)
        self._challenges += 1
        if self._challenges > MAX_CHALLENGES_PER_ATTEMPT:
            return self._fail(response.code, "too many authentication challenges")
        return self._retry(now)

    def _on_interval_too_brief(
        self, request: Request, response: Response, now: float
    ) -> list[RegistrationOutput]:
        minimum = leading_seconds(response.headers.get("Min-Expires"))
        self._interval_retries += 1
        if (
            minimum is None
            or minimum <= self._in_flight_expires
            or self._interval_retries > MAX_INTERVAL_RETRIES
        ):
            return self._fail(423, response.phrase or "Interval Too Brief")
        self._expires = minimum  # every later REGISTER asks for at least this
        self._in_flight_expires = minimum
        return self._retry(now)

    def _on_success(self, response: Response, now: float) -> list[RegistrationOutput]:
        if self._state is _UNREGISTERING:
            self._state = next_state(self._state, _ACCEPTED)
            return [Unregistered(confirmed=True)]
        granted = granted_expiry(
            response,
            self._contact_host,
            self._instance_value,
            self._in_flight_expires,
            expires_prefix=self._granted_prefix,
        )
        if granted <= 0:
            return self._fail(response.code, "registrar kept no binding for our contact")
        self._state = next_state(self._state, _ACCEPTED)
        self._accepted_challenge = self._digest.take_learned()
        delay = refresh_delay(granted, self._sent_at, now, self._rng)
        self._expires_at = self._sent_at + granted
        return [
            StartTimer(name=self._timer, seconds=delay),
            Registered(expires=granted, refresh_in=delay),
        ]

    def _on_failure(self, response: Response) -> list[RegistrationOutput]:
        retry_after = leading_seconds(response.headers.get("Retry-After"))
        return self._fail(response.code, response.phrase, retry_after)

    def _after_deferred_register(
        self, request: Request, response: Response, now: float
    ) -> list[RegistrationOutput]:
        """The REGISTER that was in flight when unregister() came has its answer."""
        if response.code in (401, 407):
            # Learn the nonce so the un-REGISTER goes out with credentials.
            self._digest.handle_challenge(request, response)
        return [self._start_attempt(0, now)]
