"""The pure restart decision: OTP rules as properties."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kazoo_actors.actors.child_spec import ChildSpec, RestartType, Strategy, SupervisorSpec
from kazoo_actors.actors.restart_decision import (
    ExitKind,
    GiveUp,
    Leave,
    Restart,
    decide,
    record_restart,
    should_restart,
)

restart_types = st.sampled_from(list(RestartType))
exit_kinds = st.sampled_from(list(ExitKind))
strategies_ = st.sampled_from(list(Strategy))


class Situation(NamedTuple):
    child_id: str
    exit_kind: ExitKind
    children: tuple[tuple[str, RestartType], ...]
    strategy: Strategy
    intensity: int
    period: float
    history: tuple[float, ...]
    now: float


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    ids = draw(
        st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=6, unique=True)
    )
    now = draw(st.floats(min_value=0, max_value=1000))
    return Situation(
        child_id=draw(st.sampled_from(ids)),
        exit_kind=draw(exit_kinds),
        children=tuple((cid, draw(restart_types)) for cid in ids),
        strategy=draw(strategies_),
        intensity=draw(st.integers(min_value=0, max_value=5)),
        period=draw(st.floats(min_value=0.1, max_value=100)),
        history=tuple(sorted(draw(st.lists(st.floats(min_value=0, max_value=now), max_size=8)))),
        now=now,
    )


@given(situations())
def test_decision_follows_the_otp_rules(s: Situation) -> None:
    decision = decide(**s._asdict())
    children = dict(s.children)
    if not should_restart(children[s.child_id], s.exit_kind):
        assert decision == Leave()
        return
    window = [t for t in s.history if s.now - t < s.period]
    if len(window) + 1 > s.intensity:
        assert decision == GiveUp(restarts=len(window) + 1, period=s.period)
        return
    assert isinstance(decision, Restart)
    assert decision.history == (*window, s.now)
    if s.strategy is Strategy.ONE_FOR_ONE:
        assert decision.start == (s.child_id,)
        assert decision.stop == ()
        return
    order = [cid for cid, _ in s.children]
    assert set(decision.stop) == set(order) - {s.child_id}
    assert s.child_id in decision.start
    assert list(decision.start) == [c for c in order if c in decision.start]
    for cid in decision.stop:
        assert (cid in decision.start) == (children[cid] is not RestartType.TEMPORARY)


@given(restart_types, exit_kinds)
def test_restart_table(restart: RestartType, exit_kind: ExitKind) -> None:
    expected = {
        RestartType.PERMANENT: True,
        RestartType.TRANSIENT: exit_kind is ExitKind.ERROR,
        RestartType.TEMPORARY: False,
    }[restart]
    assert should_restart(restart, exit_kind) is expected


@given(
    st.lists(st.floats(min_value=0, max_value=50), max_size=20),
    st.floats(min_value=0.5, max_value=10),
)
def test_history_keeps_only_the_window(times: list[float], period: float) -> None:
    history: tuple[float, ...] = ()
    for now in sorted(times):
        history = record_restart(history, now, period=period)
        assert history[-1] == now
        assert all(now - t < period for t in history)


def test_intensity_zero_never_restarts() -> None:
    decision = decide(
        child_id="a",
        exit_kind=ExitKind.ERROR,
        children=[("a", RestartType.PERMANENT)],
        strategy=Strategy.ONE_FOR_ONE,
        intensity=0,
        period=5,
        history=(),
        now=0.0,
    )
    assert decision == GiveUp(restarts=1, period=5)


def test_unknown_child_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="not among the running children"):
        decide(
            child_id="zz",
            exit_kind=ExitKind.ERROR,
            children=[("a", RestartType.PERMANENT)],
            strategy=Strategy.ONE_FOR_ONE,
            intensity=1,
            period=5,
            history=(),
            now=0.0,
        )


def test_specs_validate_and_convert() -> None:
    async def start() -> None:
        return None

    spec = ChildSpec(id="a", start=start, restart="transient")
    assert spec.restart is RestartType.TRANSIENT
    assert SupervisorSpec(strategy="one_for_all").strategy is Strategy.ONE_FOR_ALL
    with pytest.raises(ValueError):
        ChildSpec(id="a", start=start, restart="sometimes")
    with pytest.raises(ValueError, match="shutdown must be >= 0"):
        ChildSpec(id="a", start=start, shutdown=-1)
    with pytest.raises(ValueError, match="period must be > 0"):
        SupervisorSpec(period=0)
    with pytest.raises(ValueError, match="intensity must be >= 0"):
        SupervisorSpec(intensity=-1)
