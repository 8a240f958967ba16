"""The engine's nonce sharing: what is offered, to whom, and for how long."""

from __future__ import annotations

import pytest

from kazoo_actors.shared_challenges import SharedChallenges
from protocols.sip.digest_header import DigestChallenge


def _challenge(nonce: str = "n1", realm: str = "kazoo.test") -> DigestChallenge:
    return DigestChallenge(
        realm=realm,
        nonce=nonce,
        algorithm="MD5",
        qop=("auth",),
        opaque=None,
        stale=False,
        proxy=False,
    )


def test_a_learned_challenge_is_offered_for_its_server_and_realm_only() -> None:
    shared = SharedChallenges(max_age=30)
    shared.learn("ws://127.0.0.1:5066", _challenge(), now=100.0)
    assert shared.offer("ws://127.0.0.1:5066", "kazoo.test", now=101.0) == _challenge()
    assert shared.offer("ws://127.0.0.1:5067", "kazoo.test", now=101.0) is None
    assert shared.offer("ws://127.0.0.1:5066", "other.test", now=101.0) is None


def test_an_old_challenge_is_no_longer_offered_and_a_newer_one_replaces_it() -> None:
    shared = SharedChallenges(max_age=30)
    shared.learn("ws://s", _challenge("old"), now=0.0)
    assert shared.offer("ws://s", "kazoo.test", now=30.0) is not None
    assert shared.offer("ws://s", "kazoo.test", now=30.5) is None
    shared.learn("ws://s", _challenge("new"), now=31.0)
    offered = shared.offer("ws://s", "kazoo.test", now=32.0)
    assert offered is not None and offered.nonce == "new"
    stats = shared.statistics()
    assert (stats.servers, stats.learned, stats.offered) == (1, 2, 2)


def test_a_negative_age_is_refused() -> None:
    with pytest.raises(ValueError, match="max_age"):
        SharedChallenges(max_age=-1)


def test_a_server_that_forbids_borrowed_nonces_is_offered_none_from_then_on() -> None:
    shared = SharedChallenges(max_age=30)
    shared.learn("ws://s", _challenge("n1"), now=0.0)
    shared.refused("ws://s", "kazoo.test")
    assert shared.offer("ws://s", "kazoo.test", now=1.0) is None
    shared.learn("ws://s", _challenge("n2"), now=2.0)
    assert shared.offer("ws://s", "kazoo.test", now=3.0) is None
    shared.learn("ws://other", _challenge("n3"), now=2.0)
    assert shared.offer("ws://other", "kazoo.test", now=3.0) is not None
    assert shared.statistics().refusing_servers == 1
