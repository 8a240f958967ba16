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


def _hex(algorithm: str, text: str) -> str:
    return _CONSTRUCTORS[HASHES[algorithm]](text.encode("utf-8")).hexdigest()


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
    ha1 = _hex(algorithm, f"{inputs.username}:{inputs.realm}:{password}")
    if algorithm.endswith("-sess"):
        ha1 = _hex(algorithm, f"{ha1}:{inputs.nonce}:{inputs.cnonce}")
    ha2 = _hex(algorithm, f"{inputs.method}:{inputs.uri}")
    if inputs.qop is None:
        return _hex(algorithm, f"{ha1}:{inputs.nonce}:{ha2}")
    return _hex(
        algorithm,
        f"{ha1}:{inputs.nonce}:{inputs.nc}:{inputs.cnonce}:{inputs.qop}:{ha2}",
    )
