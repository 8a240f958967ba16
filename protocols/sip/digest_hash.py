"""The Digest response computation of RFC 7616 section 3.4.1 (and RFC 2617 / 2069).

Shared by the client (answering challenges) and the verifier (issuing them in
the demo and the tests), so both sides compute the same bytes by construction
and the RFC example vectors check both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

HASHES = {
    "MD5": "md5",
    "MD5-sess": "md5",
    "SHA-256": "sha256",
    "SHA-256-sess": "sha256",
}

# Strongest first: when a response offers several challenges for one realm we
# answer the first of these that it offers.
PREFERENCE = ("SHA-256", "SHA-256-sess", "MD5", "MD5-sess")


# The constructors themselves: hashlib.new() looks the name up on every call.
_CONSTRUCTORS = {"md5": hashlib.md5, "sha256": hashlib.sha256}
_BY_ALGORITHM = {algorithm: _CONSTRUCTORS[name] for algorithm, name in HASHES.items()}


def _hex(algorithm: str, text: str) -> str:
    return _BY_ALGORITHM[algorithm](text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class DigestInput:
    """Everything the response depends on besides the password."""

    algorithm: str
    username: str
    realm: str
    nonce: str
    method: str
    uri: str
    qop: str | None = None
    nc: str = "00000001"
    cnonce: str = ""


def digest_response(inputs: DigestInput, password: str) -> str:
    """The ``response`` value: KD(H(A1), nonce[:nc:cnonce:qop]:H(A2))."""
    algorithm = inputs.algorithm
    if algorithm not in HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return response_from_ha1(
        algorithm,
        user_ha1(algorithm, inputs.username, inputs.realm, password),
        inputs.nonce,
        request_ha2(algorithm, inputs.method, inputs.uri),
        inputs.qop,
        inputs.nc,
        inputs.cnonce,
    )


def user_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username:realm:password): the part of H(A1) that depends on the account
    only (RFC 2617 s.3.2.2.2), so a client may compute it once per realm."""
    return _hex(algorithm, f"{username}:{realm}:{password}")


def request_ha2(algorithm: str, method: str, uri: str) -> str:
    """H(A2) for qop=auth or none: the same for every request with this method and URI."""
    return _hex(algorithm, f"{method}:{uri}")


def response_from_ha1(
    algorithm: str,
    ha1: str,
    nonce: str,
    ha2: str,
    qop: str | None,
    nc: str,
    cnonce: str,
) -> str:
    """``digest_response`` from ``user_ha1``'s and ``request_ha2``'s values."""
    if algorithm.endswith("-sess"):
        ha1 = _hex(algorithm, f"{ha1}:{nonce}:{cnonce}")
    if qop is None:
        return _hex(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hex(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
