"""The compiled programs follow the tables: same keys, same next states, one
handler per effect, and a subclass's handler overrides are what it runs."""

from __future__ import annotations

import pytest
from transaction_messages import make_request, make_response

from protocols.sip.actions import Send
from protocols.sip.transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    ResponseReceived,
)
from protocols.sip.transaction_events import Output
from protocols.sip.transaction_machine import TransactionMachine

KINDS: list[type[TransactionMachine]] = [
    InviteClientTransaction,
    NonInviteClientTransaction,
    InviteServerTransaction,
    NonInviteServerTransaction,
]


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
@pytest.mark.parametrize("reliable", [False, True])
def test_programs_mirror_the_tables(kind: type[TransactionMachine], reliable: bool) -> None:
    table = kind.tables[reliable]
    program = kind.programs[reliable]
    assert program.keys() == table.keys()
    for key, (target, effects) in table.items():
        compiled_target, handlers = program[key]
        assert compiled_target is target
        assert len(handlers) == len(effects)


class LoudClient(NonInviteClientTransaction):
    """Overrides one handler without redefining the tables."""

    __slots__ = ()

    def _pass_response(self, _: str, out: list[Output]) -> None:
        out.append(Send(message=self.request))
        super()._pass_response(_, out)


def test_a_subclass_runs_its_own_handlers() -> None:
    request = make_request("OPTIONS")
    tx = LoudClient(request, reliable=True)
    tx.start()
    outputs = tx.receive_response(make_response(request, 200))
    assert outputs[0] == Send(message=request)
    assert isinstance(outputs[1], ResponseReceived)
