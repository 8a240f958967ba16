"""Digest authentication for a SIP client (RFC 3261 s.22, RFC 7616, RFC 2617).

``DigestClient`` answers 401 (WWW-Authenticate -> Authorization) and 407
(Proxy-Authenticate -> Proxy-Authorization) challenges. It remembers one nonce
per realm, so later requests carry credentials pre-emptively with the nonce
count incremented (RFC 7616 s.3.4), and tells apart a stale nonce (answered
again, not a failure) from refused credentials (reported).

A client may also ``adopt`` a challenge it did not receive itself: a nonce the
same server gave another account moments ago. RFC 2617 s.3.3 allows such
pre-emptive credentials ("the server may choose to accept the old
Authorization header information ... or return a 401 with a new nonce"), so a
challenge to adopted credentials is answered like a first challenge, never
taken for a refused password. ``take_learned`` hands out the challenges this
client received and answered, for its owner to share.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from sipmessage import Request, Response

from .address_of_record import identity_user
from .digest_hash import HASHES, PREFERENCE, request_ha2, response_from_ha1, user_ha1
from .digest_header import (
    DigestChallenge,
    digest_challenges,
    format_digest_credentials,
    parse_challenges,
    quote_auth_value,
)
from .errors import ParseError

_SYSTEM_RANDOM = random.SystemRandom()
_CHALLENGE_HEADERS = (("WWW-Authenticate", False), ("Proxy-Authenticate", True))
_CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization")
# A registrar talks to us in one realm, a proxy in front of it maybe in a second;
# the bound keeps a hostile server from growing this state without limit.
_MAX_REALMS = 4
# What the credentials of one challenge for one request line share, whoever sends
# them: H(A2) and the quoted realm, nonce and uri text. Every account of a
# registrar that adopted one nonce shares an entry; the bound only matters to a
# process that talks to very many URIs or keeps receiving new nonces.
_REQUEST_PARTS: dict[tuple[str, str, str, str, str], tuple[str, str]] = {}
_MAX_REQUEST_PARTS = 256


# The value classes below write their fields in an __init__ of their own
# (init=False): compiled (setup.py), that is a C function, while the __init__
# dataclasses generates stays Python code run by the interpreter, several times the
# cost, for every account created and every challenge answered. Frozen, equality,
# hash and repr are still dataclasses'.


@dataclass(frozen=True, slots=True, init=False)
class DigestCredentials:
    """A username and password; the password never appears in repr or str."""

    username: str
    password: str = field(repr=False)
    realm: str | None = None

    def __init__(self, username: str, password: str, realm: str | None = None) -> None:
        object.__setattr__(self, "username", username)
        object.__setattr__(self, "password", password)
        object.__setattr__(self, "realm", realm)

    @classmethod
    def from_private_identity(
        cls, identity: str, password: str, realm: str | None = None
    ) -> DigestCredentials:
        """Credentials for ``sip:user@realm``, ``user@realm`` or a bare ``user``.

        The Digest username is the user part of the private identity, as the
        Kazoo library sent it.
        """
        user = identity_user(identity)
        if not user:
            raise ValueError(f"private identity {identity!r} has no user part")
        if cls is DigestCredentials:
            # Compiled (setup.py), naming the class is a direct C call; calling cls goes
            # through Python's generic call with keywords, three quarters of this
            # method's cost for every account.
            return DigestCredentials(user, password, realm)
        return cls(username=user, password=password, realm=realm)


class ChallengeOutcome(enum.Enum):
    ANSWER = "answer"
    """Send the request again; ``authorize`` adds the credentials."""
    REFUSED = "refused"
    """The server challenged credentials we had just computed from a fresh nonce."""
    UNSUPPORTED = "unsupported"
    """No challenge in the response is one we can answer."""


@dataclass(frozen=True, slots=True, init=False)
class ChallengeVerdict:
    outcome: ChallengeOutcome
    reason: str = ""
    stale: bool = False

    def __init__(self, outcome: ChallengeOutcome, reason: str = "", stale: bool = False) -> None:
        object.__setattr__(self, "outcome", outcome)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "stale", stale)


class _NonceState:
    __slots__ = ("adopted", "challenge", "count")

    def __init__(self, challenge: DigestChallenge, *, adopted: bool = False) -> None:
        self.challenge = challenge
        self.count = 0
        # Adopted from another client and not yet challenged back: the server never
        # told *us* this nonce, so a 401 to it says nothing about our password.
        self.adopted = adopted


def _sent_credentials(request: Request) -> dict[str, tuple[str, int]]:
    """realm -> (nonce, nonce count) of the Digest credentials ``request`` carried."""
    sent: dict[str, tuple[str, int]] = {}
    for header in _CREDENTIAL_HEADERS:
        for value in request.headers.getlist(header):
            try:
                credentials = parse_challenges(value)
            except ParseError:
                continue
            for item in credentials:
                realm, nonce = item.get("realm"), item.get("nonce")
                if realm is None or nonce is None:
                    continue
                try:
                    count = int(item.get("nc") or "1", 16)
                except ValueError:
                    count = 1
                sent[realm] = (nonce, count)
    return sent


def _request_parts(challenge: DigestChallenge, method: str, uri: str) -> tuple[str, str]:
    """H(A2) and ``realm="..", nonce="..", uri=".."`` for ``challenge`` and this request line."""
    key = (challenge.algorithm, challenge.realm, challenge.nonce, method, uri)
    found = _REQUEST_PARTS.get(key)
    if found is None:
        if len(_REQUEST_PARTS) >= _MAX_REQUEST_PARTS:
            _REQUEST_PARTS.clear()
        found = _REQUEST_PARTS[key] = (
            request_ha2(challenge.algorithm, method, uri),
            f"realm={quote_auth_value(challenge.realm)}, "
            f"nonce={quote_auth_value(challenge.nonce)}, uri={quote_auth_value(uri)}",
        )
    return found


class DigestClient:
    """Answers Digest challenges for one set of credentials."""

    __slots__ = (
        "_credentials",
        "_ha1",
        "_learned",
        "_nonces",
        "_rng",
    )

    def __init__(self, credentials: DigestCredentials, rng: random.Random | None = None) -> None:
        self._credentials = credentials
        self._rng = rng or _SYSTEM_RANDOM
        self._nonces: dict[str, _NonceState] = {}
        self._learned: DigestChallenge | None = None
        # H(user:realm:password) for the last (algorithm, realm): it never changes
        # for these credentials, while every request needs it.
        self._ha1: tuple[str, str, str] | None = None

    def __repr__(self) -> str:
        return (
            f"DigestClient(username={self._credentials.username!r}, "
            f"realms={sorted(self._nonces)!r})"
        )

    @property
    def username(self) -> str:
        return self._credentials.username

    def forget(self) -> None:
        """Drop every remembered nonce (the next request goes without credentials)."""
        self._nonces.clear()

    def adopt(self, challenge: DigestChallenge) -> bool:
        """Use ``challenge`` (received by another client of the same server) for its realm.

        It replaces a different nonce remembered for that realm: the caller offers
        only recent challenges, and ours may be older. False when the realm is not
        ours, or the nonce is the one we already use (its count goes on).
        """
        wanted = self._credentials.realm
        if wanted is not None and challenge.realm != wanted:
            return False
        known = self._nonces.get(challenge.realm)
        if known is not None and known.challenge.nonce == challenge.nonce:
            return False
        if known is None and len(self._nonces) >= _MAX_REALMS:
            self._nonces.pop(next(iter(self._nonces)))
        self._nonces[challenge.realm] = _NonceState(challenge, adopted=True)
        return True

    def sent_adopted(self, request: Request) -> bool:
        """Did ``request`` carry credentials for a nonce this client adopted and was
        never challenged with itself?"""
        for realm, (nonce, _count) in _sent_credentials(request).items():
            known = self._nonces.get(realm)
            if known is not None and known.adopted and known.challenge.nonce == nonce:
                return True
        return False

    def drop_adopted(self) -> None:
        """Forget every adopted nonce (the next request goes without those credentials)."""
        for realm in [r for r, state in self._nonces.items() if state.adopted]:
            del self._nonces[realm]

    def take_learned(self) -> DigestChallenge | None:
        """The latest challenge this client received and answered, once (then None)."""
        learned, self._learned = self._learned, None
        return learned

    def handle_challenge(self, request: Request, response: Response) -> ChallengeVerdict:
        """Take in the challenges of ``response`` to ``request`` (a 401 or 407).

        ``request`` is the request as sent, so that credentials it carried can be
        recognised as refused. On ``ANSWER`` the caller sends a new request
        (new CSeq) after calling ``authorize`` on it.
        """
        chosen, skipped = self._usable_challenges(response)
        if not chosen:
            reason = "; ".join(skipped) or "no Digest challenge"
            return ChallengeVerdict(ChallengeOutcome.UNSUPPORTED, reason)
        sent = _sent_credentials(request)
        for realm, challenge in chosen.items():
            if realm in sent and not challenge.stale:
                sent_nonce, sent_count = sent[realm]
                known = self._nonces.get(realm)
                if known is not None and known.adopted and known.challenge.nonce == sent_nonce:
                    continue  # someone else's nonce: the server owes us a first challenge
                # A re-used nonce (count > 1) that the server no longer accepts
                # is an expired nonce even when the server forgets stale=true;
                # a fresh nonce challenged again means the password is wrong.
                if sent_count <= 1 or sent_nonce == challenge.nonce:
                    return ChallengeVerdict(
                        ChallengeOutcome.REFUSED, f"credentials refused for realm {realm!r}"
                    )
        stale = all(challenge.stale for challenge in chosen.values())
        for realm, challenge in chosen.items():
            self._learned = challenge
            known = self._nonces.get(realm)
            if known is not None and known.challenge.nonce == challenge.nonce:
                known.challenge = challenge  # same nonce: its count goes on
                known.adopted = False
                continue
            if known is None and len(self._nonces) >= _MAX_REALMS:
                self._nonces.pop(next(iter(self._nonces)))
            self._nonces[realm] = _NonceState(challenge)
        return ChallengeVerdict(ChallengeOutcome.ANSWER, stale=stale)

    def _usable_challenges(
        self, response: Response
    ) -> tuple[dict[str, DigestChallenge], list[str]]:
        by_realm: dict[str, DigestChallenge] = {}
        skipped: list[str] = []
        wanted_realm = self._credentials.realm
        for header, proxy in _CHALLENGE_HEADERS:
            for value in response.headers.getlist(header):
                try:
                    parsed = digest_challenges(value, proxy)
                except ParseError as exc:
                    skipped.append(f"malformed {header}: {exc}")
                    continue
                for challenge in parsed:
                    if challenge is None:
                        continue
                    if challenge.algorithm not in HASHES:
                        skipped.append(f"algorithm {challenge.algorithm} is not supported")
                    elif challenge.qop and "auth" not in challenge.qop:
                        skipped.append(f"qop={','.join(challenge.qop)} is not supported")
                    elif wanted_realm is not None and challenge.realm != wanted_realm:
                        skipped.append(f"realm {challenge.realm!r} is not ours")
                    else:
                        best = by_realm.get(challenge.realm)
                        rank = PREFERENCE.index(challenge.algorithm)
                        if best is None or rank < PREFERENCE.index(best.algorithm):
                            by_realm[challenge.realm] = challenge
        return by_realm, skipped

    def authorize(self, request: Request) -> None:
        """Put credentials for every remembered realm on ``request``.

        Each call counts one more use of each nonce (``nc``), so call it once per
        request actually sent.
        """
        for header in _CREDENTIAL_HEADERS:
            request.headers.remove(header)
        for header, value in self.credentials(request.method, str(request.uri)):
            request.headers.add(header, value)

    def credentials(self, method: str, uri: str) -> list[tuple[str, str]]:
        """The (header, value) pairs ``authorize`` would put on a ``method`` request
        to the Request-URI ``uri`` (its text: a registration renders its registrar's
        once), for a caller that builds a new request: the same counting."""
        found: list[tuple[str, str]] = []
        for state in self._nonces.values():
            state.count += 1
            found.append(
                (state.challenge.credentials_header, self._credentials_value(method, uri, state))
            )
        return found

    def _credentials_value(self, method: str, uri: str, state: _NonceState) -> str:
        challenge = state.challenge
        algorithm = challenge.algorithm
        username = self._credentials.username
        qop = "auth" if challenge.qop else None
        needs_cnonce = qop is not None or algorithm.endswith("-sess")
        # %-formatting, not f"{n:016x}": compiled (setup.py), a format spec in an
        # f-string is a str.format method call, twice the cost.
        cnonce = "%016x" % self._rng.getrandbits(64) if needs_cnonce else ""  # noqa: UP031
        nc = "%08x" % state.count  # noqa: UP031
        ha2, shared_text = _request_parts(challenge, method, uri)
        response = response_from_ha1(
            algorithm,
            self._user_ha1(algorithm, challenge.realm),
            challenge.nonce,
            ha2,
            qop,
            nc,
            cnonce,
        )
        if qop is not None and challenge.opaque is None:
            # The shape registrars ask for, in format_digest_credentials' order.
            return (
                f"Digest username={quote_auth_value(username)}, {shared_text}, "
                f'response="{response}", algorithm={algorithm}, cnonce="{cnonce}", '
                f"qop={qop}, nc={nc}"
            )
        params: list[tuple[str, str, bool]] = [
            ("username", username, True),
            ("realm", challenge.realm, True),
            ("nonce", challenge.nonce, True),
            ("uri", uri, True),
            ("response", response, True),
            ("algorithm", algorithm, False),
        ]
        if cnonce:
            params.append(("cnonce", cnonce, True))
        if challenge.opaque is not None:
            params.append(("opaque", challenge.opaque, True))
        if qop is not None:
            params += [("qop", qop, False), ("nc", nc, False)]
        return format_digest_credentials(params)

    def _user_ha1(self, algorithm: str, realm: str) -> str:
        cached = self._ha1
        if cached is not None and cached[0] == algorithm and cached[1] == realm:
            return cached[2]
        credentials = self._credentials
        ha1 = user_ha1(algorithm, credentials.username, realm, credentials.password)
        self._ha1 = (algorithm, realm, ha1)
        return ha1
