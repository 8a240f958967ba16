"""The text of authentication headers: challenges in, Digest credentials out.

sipmessage's own auth-param parser splits on every comma, so a quoted value
such as ``qop="auth,auth-int"`` (the usual form) breaks it; this module reads
the RFC 7235 / RFC 3261 section 25.1 grammar itself. One header value may hold
several challenges (``Digest realm="a", nonce="1", Digest realm="b", ...``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ParseError
from .header_checks import challenge_is_plain

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_QUOTED = re.compile(r'"((?:[^"\\\r\n]|\\[^\r\n])*)"')
_SPACE = re.compile(r"[ \t]*")
_ESCAPE = re.compile(r"\\(.)")
# The one-challenge shape without quoted-pairs that registrars send, read by
# two regexes instead of the general loop below (same result, a fifth the cost).
_PLAIN_SCHEME = re.compile(r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+")
_PLAIN_PARAM = re.compile(
    r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*=[ \t]*(?:\"([^\"\\]*)\"|([A-Za-z0-9\-.!%*_+`'~]+))"
)

ALGORITHM_NAMES = {
    "md5": "MD5",
    "md5-sess": "MD5-sess",
    "sha-256": "SHA-256",
    "sha-256-sess": "SHA-256-sess",
}


# The challenge classes write their fields in an __init__ of their own (init=False):
# compiled (setup.py), that is a C function, while the __init__ dataclasses
# generates stays Python code run by the interpreter, several times the cost for
# every challenge read. Frozen, equality, hash and repr are still dataclasses'.


@dataclass(frozen=True, slots=True, init=False)
class Challenge:
    """One challenge of any scheme, its parameter names lower-cased."""

    scheme: str
    params: tuple[tuple[str, str], ...]

    def __init__(self, scheme: str, params: tuple[tuple[str, str], ...]) -> None:
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "params", params)

    def get(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True, init=False)
class DigestChallenge:
    """A usable Digest challenge; ``proxy`` when it came in Proxy-Authenticate."""

    realm: str
    nonce: str
    algorithm: str
    qop: tuple[str, ...]
    opaque: str | None
    stale: bool
    proxy: bool

    def __init__(
        self,
        realm: str,
        nonce: str,
        algorithm: str,
        qop: tuple[str, ...],
        opaque: str | None,
        stale: bool,
        proxy: bool,
    ) -> None:
        object.__setattr__(self, "realm", realm)
        object.__setattr__(self, "nonce", nonce)
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "qop", qop)
        object.__setattr__(self, "opaque", opaque)
        object.__setattr__(self, "stale", stale)
        object.__setattr__(self, "proxy", proxy)

    @property
    def credentials_header(self) -> str:
        return "Proxy-Authorization" if self.proxy else "Authorization"


def _skip_space(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _read_value(text: str, pos: int) -> tuple[str, int]:
    quoted = _QUOTED.match(text, pos)
    if quoted:
        return _ESCAPE.sub(r"\1", quoted.group(1)), quoted.end()
    token = _TOKEN.match(text, pos)
    if token:
        return token.group(0), token.end()
    raise ParseError(f"bad auth-param value at offset {pos}")


def parse_challenges(value: str) -> list[Challenge]:
    """Every challenge in one WWW-Authenticate or Proxy-Authenticate value."""
    text = value.strip()
    if challenge_is_plain(text):
        scheme = _PLAIN_SCHEME.match(text)
        if scheme is not None:
            params = tuple(
                (name.lower(), token or quoted)
                for name, quoted, token in _PLAIN_PARAM.findall(text, scheme.end())
            )
            return [Challenge(scheme.group(1), params)]
    return general_challenges(text)


def general_challenges(text: str) -> list[Challenge]:
    """``parse_challenges`` for any shape (``text`` stripped)."""
    challenges: list[Challenge] = []
    pos = 0
    while pos < len(text):
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        scheme = _TOKEN.match(text, pos)
        if scheme is None:
            raise ParseError("authentication scheme expected")
        pos = _skip_space(text, scheme.end())
        params: list[tuple[str, str]] = []
        while pos < len(text):
            if text[pos] == ",":
                pos = _skip_space(text, pos + 1)
                continue
            name = _TOKEN.match(text, pos)
            if name is None:
                raise ParseError(f"auth-param expected at offset {pos}")
            equals = _skip_space(text, name.end())
            if equals >= len(text) or text[equals] != "=":
                break  # a token without "=" starts the next challenge
            param_value, pos = _read_value(text, _skip_space(text, equals + 1))
            params.append((name.group(0).lower(), param_value))
            pos = _skip_space(text, pos)
            if pos < len(text) and text[pos] != ",":
                raise ParseError("comma expected between auth-params")
        challenges.append(Challenge(scheme.group(0), tuple(params)))
    if not challenges:
        raise ParseError("empty authentication header")
    return challenges


def digest_challenge(challenge: Challenge, *, proxy: bool) -> DigestChallenge | None:
    """The Digest challenge in ``challenge``, or None when it is another scheme.

    A Digest challenge without realm or nonce is malformed (ParseError); one with
    an algorithm we do not implement is returned with that algorithm's name as
    given, so that the caller can skip it and say why.
    """
    if challenge.scheme.lower() != "digest":
        return None
    realm = challenge.get("realm")
    nonce = challenge.get("nonce")
    if realm is None or nonce is None:
        raise ParseError("Digest challenge without realm or nonce")
    algorithm_text = challenge.get("algorithm") or "MD5"
    algorithm = ALGORITHM_NAMES.get(algorithm_text.lower(), algorithm_text)
    qop_text = challenge.get("qop")
    qop = tuple(q.strip().lower() for q in qop_text.split(",") if q.strip()) if qop_text else ()
    stale = (challenge.get("stale") or "").lower() == "true"
    return DigestChallenge(
        realm=realm,
        nonce=nonce,
        algorithm=algorithm,
        qop=qop,
        opaque=challenge.get("opaque"),
        stale=stale,
        proxy=proxy,
    )


# A registrar hands the same nonce to many accounts for a while (Kamailio's
# changes once a second), so the same header value comes back in one 401 after
# another: what it reads as is remembered per exact text, bounded so that hostile
# input cannot grow it. Challenge and DigestChallenge are frozen, so the accounts
# that share them cannot change them; a malformed value raises every time.
@functools.lru_cache(maxsize=256)
def digest_challenges(value: str, proxy: bool) -> tuple[DigestChallenge | None, ...]:
    """``digest_challenge`` of every challenge of one WWW-Authenticate
    (``proxy`` False) or Proxy-Authenticate value, in order."""
    return tuple(digest_challenge(c, proxy=proxy) for c in parse_challenges(value))


def quote_auth_value(value: str) -> str:
    """``value`` as an RFC 7235 quoted-string."""
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


def format_digest_credentials(params: Iterable[tuple[str, str, bool]]) -> str:
    """``Digest a="x", b=y`` from (name, value, quoted) triples, in order."""
    return "Digest " + ", ".join(
        f"{name}={quote_auth_value(value) if quoted else value}" for name, value, quoted in params
    )
