"""RFC 3261 section 17 timer values, and which of them a transport needs.

``TimerSettings`` holds T1, T2 and T4 (0.5 s, 4 s, 5 s by default) and derives
every named timer from them:

======  ==============================  ===========  =========
name    role                            unreliable   reliable
======  ==============================  ===========  =========
A       INVITE request retransmit       T1 doubling  not used
B       INVITE client timeout           64*T1        64*T1
C       INVITE Proceeding guard (*)     180 s        180 s
D       wait for final retransmits      32 s         0
E       non-INVITE request retransmit   T1 .. T2     not used
F       non-INVITE client timeout       64*T1        64*T1
G       INVITE final retransmit         T1 .. T2     not used
H       wait for ACK                    64*T1        64*T1
I       absorb ACK retransmits          T4           0
J       absorb request retransmits      64*T1        0
K       absorb response retransmits     T4           0
L       server Accepted (RFC 6026)      64*T1        64*T1
M       client Accepted (RFC 6026)      64*T1        64*T1
Trying  send 100 if the TU is silent    0.2 s        0.2 s
======  ==============================  ===========  =========

(*) RFC 3261 lets an INVITE client wait in Proceeding forever; a user agent
that holds thousands of accounts cannot, so Timer C (the proxy timer of section
16.6, restarted by every provisional response) ends such a transaction.

A timer whose value is 0 is never started: the machine takes the transition at
once. Retransmission timers (A, E, G) are budgeted: the machine never schedules
a retransmission at or after the moment its timeout timer (B, F, H) expires,
so the number of retransmissions is bounded whatever order timers fire in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TIMER_A = "A"
TIMER_B = "B"
TIMER_C = "C"
TIMER_D = "D"
TIMER_E = "E"
TIMER_F = "F"
TIMER_G = "G"
TIMER_H = "H"
TIMER_I = "I"
TIMER_J = "J"
TIMER_K = "K"
TIMER_L = "L"
TIMER_M = "M"
TIMER_TRYING = "Trying"

ALL_TIMERS = (
    TIMER_A,
    TIMER_B,
    TIMER_C,
    TIMER_D,
    TIMER_E,
    TIMER_F,
    TIMER_G,
    TIMER_H,
    TIMER_I,
    TIMER_J,
    TIMER_K,
    TIMER_L,
    TIMER_M,
    TIMER_TRYING,
)
RETRANSMIT_TIMERS = frozenset({TIMER_A, TIMER_E, TIMER_G})
_ZERO_WHEN_RELIABLE = frozenset({TIMER_D, TIMER_I, TIMER_J, TIMER_K})


@dataclass(frozen=True, kw_only=True, slots=True)
class TimerSettings:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_c: float = 180.0
    timer_d: float = 32.0
    trying_delay: float = 0.2
    # Every transaction starts timers: their first intervals are derived once,
    # per transport reliability (index 0 unreliable, 1 reliable).
    _initials: tuple[dict[str, float], dict[str, float]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not 0 < self.t1 <= self.t2:
            raise ValueError("timer settings need 0 < T1 <= T2")
        if self.t4 <= 0 or self.timer_c <= 0 or self.timer_d <= 0 or self.trying_delay <= 0:
            raise ValueError("timer settings must be positive")
        initials = tuple(
            {name: self._derive_initial(name, reliable) for name in ALL_TIMERS}
            for reliable in (False, True)
        )
        object.__setattr__(self, "_initials", initials)

    @property
    def transaction_timeout(self) -> float:
        """64*T1: timers B, F, H, J, L and M."""
        return 64 * self.t1

    def initial(self, name: str, reliable: bool) -> float:
        """The first interval of a timer; 0 means the timer is skipped."""
        found = self._initials[reliable].get(name)
        return self._derive_initial(name, reliable) if found is None else found

    def _derive_initial(self, name: str, reliable: bool) -> float:
        if reliable and name in _ZERO_WHEN_RELIABLE:
            return 0.0
        if name in RETRANSMIT_TIMERS:
            return self.t1
        if name in (TIMER_I, TIMER_K):
            return self.t4
        if name == TIMER_C:
            return self.timer_c
        if name == TIMER_D:
            return self.timer_d
        if name == TIMER_TRYING:
            return self.trying_delay
        return self.transaction_timeout

    def cap(self, name: str) -> float | None:
        """The longest interval a doubling retransmission timer may reach."""
        return None if name == TIMER_A else self.t2


DEFAULT_TIMERS = TimerSettings()
