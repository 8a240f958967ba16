"""Transactions hand out shared StartTimer/CancelTimer/Terminated instances: they
equal what building them afresh gives, whatever the timer settings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from transaction_messages import make_request, make_response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.transaction import (
    NonInviteClientTransaction,
    ResponseReceived,
    Terminated,
    TimerSettings,
)
from protocols.sip.transaction_machine import _START_TIMER


@given(t1=st.floats(0.001, 4.0), reliable=st.booleans())
def test_outputs_equal_fresh_instances_for_any_timer_settings(t1: float, reliable: bool) -> None:
    request = make_request("OPTIONS")
    tx = NonInviteClientTransaction(request, reliable=reliable, timers=TimerSettings(t1=t1, t2=4.0))
    started = tx.start()
    expected: list[object] = [Send(message=request)]
    if not reliable:
        expected.append(StartTimer(name="E", seconds=t1))
    expected.append(StartTimer(name="F", seconds=64 * t1))
    assert started == expected
    final = make_response(request, 200)
    outputs = tx.receive_response(final)
    if reliable:
        assert outputs == [ResponseReceived(response=final), CancelTimer(name="F"), Terminated()]
    else:
        assert outputs == [
            ResponseReceived(response=final),
            CancelTimer(name="E"),
            CancelTimer(name="F"),
            StartTimer(name="K", seconds=5.0),
        ]
        assert tx.timer_fired("K") == [Terminated()]
    assert len(_START_TIMER) <= 256
