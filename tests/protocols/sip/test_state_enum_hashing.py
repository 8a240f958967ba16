"""The state enums hash by identity (cheaper than Enum's hash of the name): a key
rebuilt from values, or from a pickled member, still finds its table entry."""

from __future__ import annotations

import pickle

from protocols.sip.registration_events import (
    TRANSITIONS,
    RegistrationInput,
    RegistrationState,
    next_state,
)
from protocols.sip.transaction_client import NON_INVITE_CLIENT_TABLES
from protocols.sip.transaction_machine import State


def test_registration_transitions_are_found_from_values_and_pickles() -> None:
    for (state, event), target in TRANSITIONS.items():
        rebuilt = (RegistrationState(state.value), RegistrationInput(event.value))
        assert TRANSITIONS[rebuilt] is target
        assert next_state(pickle.loads(pickle.dumps(state)), event) is target


def test_transaction_table_keys_are_found_from_values() -> None:
    for table in NON_INVITE_CLIENT_TABLES.values():
        for (state, event), transition in table.items():
            assert table[(State(state.value), event)] is transition
            assert hash(pickle.loads(pickle.dumps(state))) == hash(state)
