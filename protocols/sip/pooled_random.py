"""The operating system's randomness, read a few KiB at a time.

``random.SystemRandom`` makes one ``getrandom`` system call per draw, and an
account draws about ten values in its first registration (Contact host,
Call-ID, tag, a branch and a cnonce per REGISTER, the refresh jitter). This
``SystemRandom`` draws the same way from ``os.urandom`` output read in 4 KiB
blocks. Blocks are handed out in 16-byte chunks popped from a list (one
atomic operation), so two threads never get the same bytes; a forked child
drops what it inherited rather than repeat its parent's values.
"""

from __future__ import annotations

import os
import random

_BLOCK = 4096
_CHUNK = 16
_RECIP_BPF = 2.0**-53


class PooledSystemRandom(random.SystemRandom):
    """``random.SystemRandom`` with its ``os.urandom`` reads pooled."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        os.register_at_fork(after_in_child=self._chunks.clear)

    def randbytes(self, n: int) -> bytes:
        if n <= _CHUNK:
            return self._chunk()[:n]
        parts = [self._chunk() for _ in range(-(-n // _CHUNK))]
        return b"".join(parts)[:n]

    def getrandbits(self, k: int) -> int:
        # As random.SystemRandom.getrandbits, reading from the pool.
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        numbytes = (k + 7) // 8
        return int.from_bytes(self.randbytes(numbytes)) >> (numbytes * 8 - k)

    def random(self) -> float:
        # As random.SystemRandom.random: 53 random bits.
        return (int.from_bytes(self.randbytes(7)) >> 3) * _RECIP_BPF

    def _chunk(self) -> bytes:
        while True:
            try:
                return self._chunks.pop()
            except IndexError:
                block = os.urandom(_BLOCK)
                # Extend, not replace: the fork hook holds this very list.
                self._chunks.extend(block[i : i + _CHUNK] for i in range(0, _BLOCK, _CHUNK))


SYSTEM_RANDOM = PooledSystemRandom()
"""The default source of every machine that is not given a ``random.Random``."""
