"""Fresh branch, tag and Call-ID values (RFC 3261 sections 8.1.1.4, 8.1.1.7, 19.3).

Randomness is passed in as a ``random.Random`` so that machines and tests can
be made deterministic; the default draws from the operating system.
"""

from __future__ import annotations

import random

MAGIC_COOKIE = "z9hG4bK"
_SYSTEM_RANDOM = random.SystemRandom()
# Lower-case letters and digits only: tokens also serve as host labels (RFC 7118
# Contact hosts), where dots and dashes are not free.
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def random_token(length: int, rng: random.Random | None = None) -> str:
    # One draw per token, not per character: the system source costs a
    # syscall per draw, and REGISTER refreshes need several tokens each.
    source = rng or _SYSTEM_RANDOM
    # 6 bits per character leaves the base-36 digits all but uniform.
    number = source.getrandbits(6 * length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def new_branch(rng: random.Random | None = None) -> str:
    """A Via branch with the RFC 3261 magic cookie."""
    return MAGIC_COOKIE + random_token(16, rng)


def new_tag(rng: random.Random | None = None) -> str:
    return random_token(10, rng)


def new_call_id(rng: random.Random | None = None) -> str:
    return random_token(22, rng)
