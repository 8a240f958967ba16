"""Fresh branch, tag and Call-ID values (RFC 3261 sections 8.1.1.4, 8.1.1.7, 19.3).

Randomness is passed in as a ``random.Random`` so that machines and tests can
be made deterministic; the default draws from the operating system.
"""

from __future__ import annotations

import random
from typing import Final

MAGIC_COOKIE = "z9hG4bK"
_SYSTEM_RANDOM = random.SystemRandom()
_ALPHABET = b"abcdefghijklmnopqrstuvwxyz012345"
# 256 is a multiple of 32: every character stands for exactly 8 byte values.
_BYTE_TO_CHAR = bytes(_ALPHABET[value % 32] for value in range(256))


def random_token(length: int, rng: random.Random | None = None) -> str:
    """``length`` characters from 32 lower-case letters and digits, 5 random bits each.

    Letters and digits only: tokens also serve as host labels (RFC 7118
    Contact hosts), where dots and dashes are not free. One draw per token,
    not per character (the system source costs a syscall per draw), mapped
    to characters by ``bytes.translate`` in C: a REGISTER refresh needs
    several tokens, and a per-character loop cost more than the rest of
    building the request.
    """
    source = rng or _SYSTEM_RANDOM
    # What Random.randbytes returns, without its Python-level frame (a compiled caller
    # pays more for that frame than for the draw itself).
    drawn = source.getrandbits(length * 8).to_bytes(length, "little")
    return drawn.translate(_BYTE_TO_CHAR).decode("ascii")


_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)
_UUID4_MASK = ~((0xF000 << 64) | (0xC000 << 48))


def uuid4_urn(bits: int) -> str:
    """``urn:uuid:`` and ``str(uuid.UUID(int=bits, version=4))``, without building the
    UUID (its constructor and ``__str__`` cost as much as the rest of a registration's set-up)."""
    digits = "%032x" % (bits & _UUID4_MASK | _UUID4_BITS)
    return f"urn:uuid:{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def new_branch(rng: random.Random | None = None) -> str:
    """A Via branch with the RFC 3261 magic cookie."""
    return MAGIC_COOKIE + random_token(16, rng)


# Final: compiled (setup.py), a Final int is a constant in every module using it.
TAG_LENGTH: Final = 10
CALL_ID_LENGTH: Final = 22


def new_tag(rng: random.Random | None = None) -> str:
    return random_token(TAG_LENGTH, rng)


def new_call_id(rng: random.Random | None = None) -> str:
    return random_token(CALL_ID_LENGTH, rng)
