"""The registration role's translation of usage outputs: actions keep their order (the
usage names its timer for the account's table already), events become the account's
outcomes. Checked against the plain mapping (a fresh result each time) that the role's
cached values stand for, and the timer's round trip through a real role."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sipmessage import URI, Request, Response

from kazoo_actors.actors.registration import (
    TIMER_PREFIX,
    Outcome,
    RegistrationResult,
    RegistrationRole,
    _failure,
    _split,
)
from kazoo_actors.params import RegisterParams
from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.registration_events import Registered, RegistrationFailed, Unregistered
from protocols.sip.replies import response_to

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
        if isinstance(item, StartTimer | CancelTimer | Send):
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


def test_the_refresh_timer_goes_out_and_comes_back_under_the_accounts_name() -> None:
    role = RegistrationRole(
        RegisterParams(
            ws_url="ws://127.0.0.1:5066",
            realm="example.test",
            private_identity="alice",
            public_identity="alice",
            password="pw",
        )
    )
    (send,), _ = role.register(0.0)
    (timer,), (result,) = role.final_response(_ok(send), 0.1)
    assert isinstance(timer, StartTimer) and result.outcome is Outcome.REGISTERED
    assert timer.name.startswith(TIMER_PREFIX) and role.owns_timer(timer.name)
    (refresh,), _ = role.timer_fired(timer.name, timer.seconds)
    (again,), _ = role.final_response(_ok(refresh), timer.seconds + 0.1)
    assert isinstance(again, StartTimer) and again.name == timer.name
    (cancel, _removal), _ = role.unregister(timer.seconds + 1.0)
    assert cancel == CancelTimer(name=timer.name)


def _ok(send: object) -> Response:
    assert isinstance(send, Send) and isinstance(send.message, Request)
    ok = response_to(send.message, 200, to_tag="t")
    ok.headers.add("Contact", send.message.headers.get("Contact") or "")
    return ok
