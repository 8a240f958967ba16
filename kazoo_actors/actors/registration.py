"""The account's registration role: the sans-IO ``Registration`` and what its results mean.

It runs inside the account's task (see ``actors/account.py`` for why there is
one task per account). It turns the usage's events into the account's
outcomes, named after the seed's errors: refused credentials are
``unauthorized`` and end the attempt series (retrying cannot help), 403 is
``forbidden``, anything that means "the server did not keep us" goes back to
the reconnect policy.
"""

from __future__ import annotations

import enum
import functools
import random

import attrs
from sipmessage import Response

from kazoo_actors.params import RegisterParams
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.digest import DigestCredentials
from protocols.sip.digest_header import DigestChallenge
from protocols.sip.registration import Registration
from protocols.sip.registration_events import (
    Registered,
    RegistrationFailed,
    RegistrationState,
    Unregistered,
)

Action = Send | StartTimer | CancelTimer


class Outcome(enum.Enum):
    REGISTERED = "registered"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    REJECTED = "rejected"
    """Any other failure: the policy may try again later."""
    UNREGISTERED = "unregistered"


@attrs.frozen(kw_only=True)
class RegistrationResult:
    outcome: Outcome
    code: int | None = None
    reason: str = ""
    expires: int | None = None


TIMER_PREFIX = "reg/"
# The usage's one timer, named for the account's timer table: its actions need no
# renaming, and every account's table shares this one string.
REFRESH_TIMER = TIMER_PREFIX + "refresh"


class RegistrationRole:
    __slots__ = ("usage",)

    def __init__(self, params: RegisterParams, *, rng: random.Random | None = None) -> None:
        self.usage = Registration(
            aor=params.aor,
            credentials=DigestCredentials.from_private_identity(
                params.private_identity, params.password, params.realm
            ),
            registrar=_registrar(params.realm),
            expires=params.expires,
            secure=(params.ws_url or "").startswith("wss:"),
            user_agent=params.user_agent,
            instance_id=params.instance_id,
            rng=rng,
            timer_name=REFRESH_TIMER,
        )

    @property
    def registered(self) -> bool:
        return self.usage.state is RegistrationState.REGISTERED

    @property
    def contact(self) -> str:
        return self.usage.contact

    def register(self, now: float) -> tuple[list[Action], list[RegistrationResult]]:
        return _split(self.usage.register(now))

    def adopt_challenge(self, challenge: DigestChallenge) -> None:
        self.usage.adopt_challenge(challenge)

    def take_accepted_challenge(self) -> DigestChallenge | None:
        return self.usage.take_accepted_challenge()

    def take_adoption_refused(self) -> bool:
        return self.usage.take_adoption_refused()

    def unregister(self, now: float) -> tuple[list[Action], list[RegistrationResult]]:
        return _split(self.usage.unregister(now))

    def owns_timer(self, name: str) -> bool:
        return name.startswith(TIMER_PREFIX)

    def timer_fired(self, name: str, now: float) -> tuple[list[Action], list[RegistrationResult]]:
        return _split(self.usage.timer_fired(name, now))

    def final_response(
        self, response: Response, now: float
    ) -> tuple[list[Action], list[RegistrationResult]]:
        return _split(self.usage.receive_response(response, now))

    def request_failed(
        self, code: int, reason: str, now: float
    ) -> tuple[list[Action], list[RegistrationResult]]:
        return _split(self.usage.request_failed(reason, now, code=code))

    def transport_reset(self, now: float) -> list[Action]:
        actions, _ = _split(self.usage.transport_reset(now, new_contact=True))
        return actions


@functools.lru_cache(maxsize=64)
def _registrar(realm: str) -> str:
    """One string per realm, shared by its accounts' registrations (kept for their life)."""
    return f"sip:{realm}"


def _split(
    outputs: list[Send | StartTimer | CancelTimer | Registered | RegistrationFailed | Unregistered],
) -> tuple[list[Action], list[RegistrationResult]]:
    # Runs for every REGISTER sent and answered: tuples, not unions, in isinstance (a
    # union is checked through its __instancecheck__, several times slower).
    actions: list[Action] = []
    results: list[RegistrationResult] = []
    for item in outputs:
        if isinstance(item, (Send, StartTimer, CancelTimer)):
            actions.append(item)
        elif isinstance(item, Registered):
            results.append(_registered(item.expires))
        elif isinstance(item, RegistrationFailed):
            results.append(_failure(item))
        else:
            results.append(_UNREGISTERED)
    return actions, results


@functools.lru_cache(maxsize=64)
def _registered(expires: int) -> RegistrationResult:
    """Results are frozen values, and the accounts of an engine are granted a few expiries."""
    return RegistrationResult(outcome=Outcome.REGISTERED, expires=expires)


_UNREGISTERED = RegistrationResult(outcome=Outcome.UNREGISTERED)


def _failure(event: RegistrationFailed) -> RegistrationResult:
    if event.code in (401, 407) and not event.local:
        outcome = Outcome.UNAUTHORIZED
    elif event.code == 403 and not event.local:
        outcome = Outcome.FORBIDDEN
    else:
        outcome = Outcome.REJECTED
    return RegistrationResult(outcome=outcome, code=event.code, reason=event.reason)
