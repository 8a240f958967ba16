"""The registration role's translation of usage outputs: actions keep their order (timer
names prefixed), events become the account's outcomes. Checked against the plain mapping
(``prefixed`` and a fresh result each time) that the role's cached values stand for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sipmessage import URI, Request

from kazoo_actors.actors.registration import (
    TIMER_PREFIX,
    Outcome,
    RegistrationResult,
    _failure,
    _split,
)
from kazoo_actors.actors.timer_names import prefixed
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.registration_events import Registered, RegistrationFailed, Unregistered

Output = Send | StartTimer | CancelTimer | Registered | RegistrationFailed | Unregistered

_names = st.sampled_from(["refresh", "retry", "x"])
_outputs: st.SearchStrategy[Output] = st.one_of(
    st.builds(lambda: Send(message=Request("REGISTER", URI.parse("sip:kazoo.test")))),
    st.builds(lambda n, s: StartTimer(name=n, seconds=s), _names, st.floats(0, 1e4)),
    st.builds(lambda n: CancelTimer(name=n), _names),
    st.builds(
        lambda e: Registered(expires=e, refresh_in=e * 0.9), st.sampled_from([60, 600, 3600])
    ),
    st.builds(
        lambda c, local: RegistrationFailed(code=c, reason="r", local=local),
        st.sampled_from([401, 403, 407, 408, 423, 500, 503]),
        st.booleans(),
    ),
    st.builds(lambda confirmed: Unregistered(confirmed=confirmed), st.booleans()),
)


def _plain_split(outputs: list[Output]) -> tuple[list[object], list[RegistrationResult]]:
    actions: list[object] = []
    results: list[RegistrationResult] = []
    for item in outputs:
        if isinstance(item, StartTimer | CancelTimer):
            actions.append(prefixed(item, TIMER_PREFIX))
        elif isinstance(item, Send):
            actions.append(item)
        elif isinstance(item, Registered):
            results.append(RegistrationResult(outcome=Outcome.REGISTERED, expires=item.expires))
        elif isinstance(item, RegistrationFailed):
            results.append(_failure(item))
        else:
            results.append(RegistrationResult(outcome=Outcome.UNREGISTERED))
    return actions, results


@given(st.lists(_outputs, max_size=6))
def test_split_gives_what_the_plain_mapping_gives(outputs: list[Output]) -> None:
    assert _split(outputs) == _plain_split(outputs)


def test_failures_map_to_the_seed_errors() -> None:
    def outcome(code: int, local: bool = False) -> Outcome:
        return _failure(RegistrationFailed(code=code, reason="r", local=local)).outcome

    assert outcome(401) is outcome(407) is Outcome.UNAUTHORIZED
    assert outcome(403) is Outcome.FORBIDDEN
    assert outcome(401, local=True) is outcome(503) is Outcome.REJECTED
