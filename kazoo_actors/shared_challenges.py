"""The one thing accounts of an engine share: their servers' latest Digest nonces.

Registering without credentials costs a round trip to learn a nonce (REGISTER,
401, REGISTER again). A nonce belongs to the server, not to a user, and
Kamailio's (its auth module's) is valid for any user until it expires, so
an account that connects to a server another account has just registered with
can send credentials for that nonce in its first REGISTER (RFC 2617 s.3.3,
RFC 3261 s.22.1). When the server refuses the borrowed nonce, it challenges as
it would have anyway: the borrower loses nothing but the digest it computed.
This halves the messages of a mass registration or of a reconnect storm, on
both sides.

Only challenges that led to a registration are offered, and only for
``max_age`` seconds after their owner received them: a nonce offered past its
server-side lifetime would cost every borrower a wasted digest. A server that
answers a borrowed nonce with 403 instead of a challenge (the borrower then
registers afresh) is offered nothing more.
Nothing secret is shared: a nonce travels in clear in every 401.
"""

from __future__ import annotations

import attrs

from protocols.sip.digest_header import DigestChallenge

DEFAULT_MAX_AGE = 30.0
"""Seconds a shared nonce is offered; Kamailio's nonces live 300 s by default (auth's
nonce_expire), and a reconnect storm or mass registration comes and goes well within 30."""


@attrs.frozen
class _Entry:
    challenge: DigestChallenge
    received_at: float


@attrs.frozen(kw_only=True)
class SharedChallengeStatistics:
    servers: int
    offered: int
    learned: int
    refusing_servers: int


class SharedChallenges:
    """Latest accepted challenge per (WebSocket URL, realm); time is the caller's clock."""

    __slots__ = ("_entries", "_learned", "_offered", "_refusing", "max_age")

    def __init__(self, max_age: float = DEFAULT_MAX_AGE) -> None:
        if max_age < 0:
            raise ValueError("max_age must not be negative")
        self.max_age = max_age
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._offered = 0
        self._learned = 0
        self._refusing: set[tuple[str, str]] = set()

    def offer(self, server: str, realm: str, now: float) -> DigestChallenge | None:
        """A challenge worth sending credentials for, or None."""
        entry = self._entries.get((server, realm))
        if entry is None or now - entry.received_at > self.max_age:
            return None
        self._offered += 1
        return entry.challenge

    def learn(self, server: str, challenge: DigestChallenge, now: float) -> None:
        """``challenge``, received at ``now`` from ``server``, just led to a registration."""
        key = (server, challenge.realm)
        if key in self._refusing:
            return
        self._entries[key] = _Entry(challenge, now)
        self._learned += 1

    def refused(self, server: str, realm: str) -> None:
        """``server`` forbade a borrowed nonce of ``realm``: stop sharing its nonces."""
        key = (server, realm)
        self._refusing.add(key)
        self._entries.pop(key, None)

    def statistics(self) -> SharedChallengeStatistics:
        return SharedChallengeStatistics(
            servers=len(self._entries),
            offered=self._offered,
            learned=self._learned,
            refusing_servers=len(self._refusing),
        )
