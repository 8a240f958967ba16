"""The frozen value classes that write their fields in an ``__init__`` of their own
(``init=False``, for speed once compiled) construct exactly what the ``__init__``
dataclasses generates gives: same signature (positional and keyword use, defaults,
keyword-only fields), same fields, equality, hash and repr, and still frozen."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sipmessage import URI, Request, Response

from protocols.sip.actions import CancelTimer, Send, StartTimer
from protocols.sip.digest import ChallengeOutcome, ChallengeVerdict, DigestCredentials
from protocols.sip.digest_header import Challenge, DigestChallenge
from protocols.sip.registration_events import Registered, RegistrationFailed, Unregistered
from protocols.sip.transaction_events import (
    RequestReceived,
    ResponseReceived,
    RetransmittedResponse,
)

TEXT = st.text(max_size=8)
OPTIONAL_TEXT = st.none() | TEXT
# Floats that equal themselves: a compiled float field stores a C double, so a NaN
# read back is a new object, unequal to the one passed in.
FLOATS = st.floats(allow_nan=False)
RESPONSES = st.builds(lambda code: Response(code, "Reason"), st.integers(100, 699))
REQUESTS = st.builds(
    lambda method: Request(method, URI.parse("sip:a@b.c")), st.sampled_from(["INVITE", "NOTIFY"])
)

# Per class, a strategy for the value of each field, by name.
VALUES: dict[type, dict[str, st.SearchStrategy[Any]]] = {
    ResponseReceived: {"response": RESPONSES},
    RetransmittedResponse: {"response": RESPONSES},
    RequestReceived: {"request": REQUESTS},
    Send: {"message": RESPONSES | REQUESTS},
    StartTimer: {"name": TEXT, "seconds": FLOATS},
    CancelTimer: {"name": TEXT},
    Registered: {"expires": st.integers(), "refresh_in": FLOATS},
    RegistrationFailed: {
        "code": st.integers(),
        "reason": TEXT,
        "retry_after": st.none() | st.integers(),
        "local": st.booleans(),
    },
    Unregistered: {"confirmed": st.booleans()},
    DigestCredentials: {"username": TEXT, "password": TEXT, "realm": OPTIONAL_TEXT},
    ChallengeVerdict: {
        "outcome": st.sampled_from(ChallengeOutcome),
        "reason": TEXT,
        "stale": st.booleans(),
    },
    Challenge: {"scheme": TEXT, "params": st.lists(st.tuples(TEXT, TEXT)).map(tuple)},
    DigestChallenge: {
        "realm": TEXT,
        "nonce": TEXT,
        "algorithm": TEXT,
        "qop": st.lists(TEXT).map(tuple),
        "opaque": OPTIONAL_TEXT,
        "stale": st.booleans(),
        "proxy": st.booleans(),
    },
}
CLASSES = list(VALUES)


def _generated(cls: type) -> type:
    """The same fields with the ``__init__`` dataclasses generates (the reference)."""
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    fields = [
        (
            f.name,
            f.type,
            dataclasses.field(default=f.default, repr=f.repr, kw_only=f.kw_only)
            if f.default is not dataclasses.MISSING
            else dataclasses.field(repr=f.repr, kw_only=f.kw_only),
        )
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(
        cls.__name__, fields, frozen=params.frozen, eq=params.eq, slots=True
    )


REFERENCES = {cls: _generated(cls) for cls in CLASSES}


def _arguments(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Every required field, and each field with a default maybe."""
    optional = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    return st.fixed_dictionaries(
        {name: value for name, value in VALUES[cls].items() if name not in optional},
        optional={name: value for name, value in VALUES[cls].items() if name in optional},
    )


def _construct(cls: type, arguments: dict[str, Any], positional: bool) -> Any:
    """``cls`` called by keyword, or positionally for the leading fields that may be."""
    if not positional:
        return cls(**arguments)
    args: list[Any] = []
    rest = dict(arguments)
    for f in dataclasses.fields(cls):
        if f.kw_only or f.name not in rest:
            break
        args.append(rest.pop(f.name))
    return cls(*args, **rest)


def _fields(value: Any) -> tuple[Any, ...]:
    return tuple(getattr(value, f.name) for f in dataclasses.fields(value))


def _outcome(call: Any) -> Any:
    try:
        return call()
    except TypeError:
        return TypeError


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data(), positional=st.booleans())
def test_construction_is_the_generated_inits(cls: type, data: Any, positional: bool) -> None:
    arguments = data.draw(_arguments(cls))
    ours = _construct(cls, arguments, positional)
    reference = _construct(REFERENCES[cls], arguments, positional)
    assert _fields(ours) == _fields(reference)
    assert repr(ours) == repr(reference)
    assert _outcome(lambda: hash(ours)) == _outcome(lambda: hash(reference))
    assert ours == _construct(cls, arguments, not positional)
    assert dataclasses.replace(ours) == ours
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, dataclasses.fields(cls)[0].name, None)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_wrong_calls_raise_type_error_as_generated_inits_do(cls: type, data: Any) -> None:
    arguments = data.draw(_arguments(cls))
    names = [f.name for f in dataclasses.fields(cls)]
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    wrong_calls = [{**arguments, "unknown": 1}]  # a field that is not one
    if required:  # a required field missing
        wrong_calls.append({k: v for k, v in arguments.items() if k != required[0]})
    for wrong in wrong_calls:
        assert _outcome(lambda w=wrong: cls(**w)) is TypeError
        assert _outcome(lambda w=wrong: REFERENCES[cls](**w)) is TypeError
    # Every field passed positionally: refused alike where some are keyword-only.
    values = [arguments.get(name, data.draw(VALUES[cls][name])) for name in names]
    ours = _outcome(lambda: cls(*values))
    reference = _outcome(lambda: REFERENCES[cls](*values))
    assert (ours is TypeError) == (reference is TypeError)
    if ours is not TypeError:
        assert ours == cls(**dict(zip(names, values, strict=True)))
