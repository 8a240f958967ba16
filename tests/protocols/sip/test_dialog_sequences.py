"""CSeq properties of a dialog under any interleaving of sent and received requests."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from transaction_messages import make_request, make_response

from protocols.sip.dialog import Dialog, RejectRequest

METHODS = st.sampled_from(["INFO", "NOTIFY", "INVITE", "UPDATE", "REFER", "MESSAGE"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), METHODS, st.just(0)),
        st.tuples(st.just("receive"), METHODS, st.integers(1, 40)),
    ),
    max_size=30,
)

INVITE = make_request(cseq=10)
OK = make_response(INVITE, 200, contact="<sip:bob@198.51.100.7>")


@settings(deadline=None)
@given(steps=STEPS, seed=st.integers(0, 2**32))
def test_local_cseq_increases_and_lower_remote_cseq_is_refused(
    steps: list[tuple[str, str, int]], seed: int
) -> None:
    dialog = Dialog.from_uac(INVITE, OK, rng=random.Random(seed))
    sent = [10]
    highest_remote: int | None = None
    for action, method, number in steps:
        if action == "send":
            request = dialog.create_request(method)
            assert request.cseq.sequence == sent[-1] + 1
            assert request.cseq.method == method
            sent.append(request.cseq.sequence)
            continue
        verdict = dialog.receive_request(make_request(method, cseq=number, contact=None))
        if highest_remote is not None and number < highest_remote:
            assert verdict == RejectRequest(code=500, phrase="Server Internal Error")
        else:
            assert verdict is None
            highest_remote = number
        assert dialog.remote_seq == highest_remote
    assert dialog.local_seq == sent[-1]
