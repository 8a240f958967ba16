"""Branch, tag, Call-ID and token values."""

from __future__ import annotations

import collections
import random
import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from protocols.sip.header_syntax import parse_address, parse_call_id, parse_via
from protocols.sip.identifiers import (
    MAGIC_COOKIE,
    new_branch,
    new_call_id,
    new_tag,
    random_token,
    uuid4_urn,
)


def test_tokens_have_the_length_asked_and_only_letters_and_digits() -> None:
    rng = random.Random(3)
    for length in (1, 10, 12, 16, 22, 40):
        token = random_token(length, rng)
        assert len(token) == length
        assert re.fullmatch(r"[a-z0-9]+", token)
    assert len(random_token(16)) == 16  # the system source


def test_the_same_seed_gives_the_same_tokens() -> None:
    assert random_token(22, random.Random(5)) == random_token(22, random.Random(5))
    assert random_token(22, random.Random(5)) != random_token(22, random.Random(6))


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=64))
def test_a_token_is_the_seeded_sources_randbytes(seed: int, length: int) -> None:
    """Drawn by getrandbits, a token is what Random.randbytes gave: the same values
    for the same seed as before."""
    alphabet = "abcdefghijklmnopqrstuvwxyz012345"
    expected = "".join(alphabet[byte % 32] for byte in random.Random(seed).randbytes(length))
    assert random_token(length, random.Random(seed)) == expected


def test_every_character_is_equally_likely() -> None:
    counts = collections.Counter("".join(random_token(64, random.Random(i)) for i in range(500)))
    assert len(counts) == 32
    expected = 500 * 64 / 32
    assert all(abs(n - expected) < 0.15 * expected for n in counts.values())


def test_values_fit_where_they_go() -> None:
    rng = random.Random(8)
    branch = new_branch(rng)
    assert branch.startswith(MAGIC_COOKIE)
    via = parse_via(f"SIP/2.0/WSS {random_token(12, rng)}.invalid;branch={branch}")
    assert via.parameters.get("branch") == branch
    assert parse_call_id(new_call_id(rng))
    tag = new_tag(rng)
    assert parse_address(f"<sip:a@b>;tag={tag}").parameters.get("tag") == tag


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_uuid4_urn_is_the_urn_of_a_version_4_uuid(bits: int) -> None:
    assert uuid4_urn(bits) == f"urn:uuid:{uuid.UUID(int=bits, version=4)}"
