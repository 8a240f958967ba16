"""Fresh branch, tag and Call-ID values (RFC 3261 sections 8.1.1.4, 8.1.1.7, 19.3).

Randomness is passed in as a ``random.Random`` so that machines and tests can
be made deterministic; the default draws from the operating system.
"""

from __future__ import annotations

import random

MAGIC_COOKIE = "z9hG4bK"
_SYSTEM_RANDOM = random.SystemRandom()
# 64 token characters (RFC 3261 "token"), so six random bits pick one evenly.
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."


def random_token(length: int, rng: random.Random | None = None) -> str:
    # One draw per token, not per character: the system source costs a
    # syscall per draw, and REGISTER refreshes need several tokens each.
    source = rng or _SYSTEM_RANDOM
    bits = source.getrandbits(6 * length)
    return "".join(_ALPHABET[(bits >> (6 * i)) & 63] for i in range(length))


def new_branch(rng: random.Random | None = None) -> str:
    """A Via branch with the RFC 3261 magic cookie."""
    return MAGIC_COOKIE + random_token(16, rng)


def new_tag(rng: random.Random | None = None) -> str:
    return random_token(10, rng)


def new_call_id(rng: random.Random | None = None) -> str:
    return random_token(22, rng)
