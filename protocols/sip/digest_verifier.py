"""The server side of Digest: issue challenges and check credentials.

The engine never needs this against a real registrar; it exists so the demo and
the tests can run a faithful in-process registrar (fresh nonces, nonce counts,
stale nonces) without Kamailio, using the same response computation.
"""

from __future__ import annotations

import enum
import hmac
import random
from collections.abc import Mapping

from sipmessage import Request, Response

from .digest_hash import HASHES, DigestInput, digest_response
from .digest_header import format_digest_credentials, parse_challenges
from .errors import ParseError
from .replies import response_to

_SYSTEM_RANDOM = random.SystemRandom()


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    MISSING = "missing"
    STALE = "stale"
    REJECTED = "rejected"


class DigestVerifier:
    """One realm, a table of passwords, the nonces it has issued."""

    def __init__(
        self,
        realm: str,
        passwords: Mapping[str, str],
        *,
        algorithm: str = "MD5",
        qop: bool = True,
        proxy: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        if algorithm not in HASHES:
            raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        self.realm = realm
        self._passwords = dict(passwords)
        self._algorithm = algorithm
        self._qop = qop
        self._proxy = proxy
        self._rng = rng or _SYSTEM_RANDOM
        self._last_count: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"DigestVerifier(realm={self.realm!r}, users={sorted(self._passwords)!r})"

    def challenge_value(self, *, stale: bool = False) -> str:
        nonce = f"{self._rng.getrandbits(128):032x}"
        self._last_count[nonce] = 0
        params = [("realm", self.realm, True), ("nonce", nonce, True)]
        params.append(("algorithm", self._algorithm, False))
        if self._qop:
            params.append(("qop", "auth", True))
        if stale:
            params.append(("stale", "true", False))
        return format_digest_credentials(params)

    def challenge(self, request: Request, *, stale: bool = False, to_tag: str = "") -> Response:
        """A 401 (or 407 for a proxy) answering ``request`` with a fresh nonce."""
        code, header = (407, "Proxy-Authenticate") if self._proxy else (401, "WWW-Authenticate")
        response = response_to(request, code, to_tag=to_tag or None)
        response.headers.add(header, self.challenge_value(stale=stale))
        return response

    def expire_nonces(self) -> None:
        """Forget every nonce: the next use of any of them is answered as stale."""
        self._last_count.clear()

    def check(self, request: Request) -> Verdict:
        header = "Proxy-Authorization" if self._proxy else "Authorization"
        for value in request.headers.getlist(header):
            try:
                items = parse_challenges(value)
            except ParseError:
                return Verdict.REJECTED
            for item in items:
                if item.scheme.lower() == "digest" and item.get("realm") == self.realm:
                    return self._check_one(request, dict(item.params))
        return Verdict.MISSING

    def _check_one(self, request: Request, params: dict[str, str]) -> Verdict:
        nonce = params.get("nonce", "")
        password = self._passwords.get(params.get("username", ""))
        if password is None or params.get("uri") != str(request.uri):
            return Verdict.REJECTED
        if nonce not in self._last_count:
            return Verdict.STALE
        qop = params.get("qop")
        nc = params.get("nc", "00000001")
        if self._qop:
            try:
                count = int(nc, 16)
            except ValueError:
                return Verdict.REJECTED
            if qop != "auth" or count <= self._last_count[nonce]:
                return Verdict.REJECTED
        inputs = DigestInput(
            algorithm=self._algorithm,
            username=params["username"],
            realm=self.realm,
            nonce=nonce,
            method=request.method,
            uri=params["uri"],
            qop=qop if self._qop else None,
            nc=nc,
            cnonce=params.get("cnonce", ""),
        )
        expected = digest_response(inputs, password)
        if not hmac.compare_digest(expected, params.get("response", "")):
            return Verdict.REJECTED
        if self._qop:
            self._last_count[nonce] = int(nc, 16)
        return Verdict.ACCEPTED
