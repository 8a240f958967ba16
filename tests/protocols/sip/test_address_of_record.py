"""``aor_parts`` reads the plain ``sip:user@host`` shape by splitting it and checking
user and host: it must find exactly what ``parse_aor`` (RFC 3261's URI grammar, as
``header_syntax`` reads it) finds, and refuse the same AORs."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from protocols.sip.address_of_record import aor_parts, identity_user, parse_aor, plain_aor_parts
from protocols.sip.header_syntax import UNRESERVED

# The plain shape as one regex, RFC 3261 s.25.1's hostname written as the RFC
# does: the split must accept the same AORs.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
PLAIN_AOR = re.compile(rf"(sips?):([{UNRESERVED}]+)@((?:{_LABEL}\.)*{_TOP_LABEL}\.?)")

LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,6}[A-Za-z0-9])?", fullmatch=True)
USER = st.text(alphabet="abcXYZ019-_.!~*'()%;:@&=+$,?/ ", min_size=0, max_size=12)
HOST = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
AORS = st.one_of(
    st.builds(
        lambda s, u, h: f"{s}:{u}@{h}", st.sampled_from(["sip", "sips", "SIP", "tel"]), USER, HOST
    ),
    st.text(alphabet="sip:@ab1.-%;=[]>", max_size=20),
)


def _general(aor: str) -> tuple[str, str, str] | type[ValueError]:
    try:
        uri = parse_aor(aor)
    except ValueError:
        return ValueError
    return uri.scheme, uri.user or "", uri.host


def _fast(aor: str) -> tuple[str, str, str] | type[ValueError]:
    try:
        return aor_parts(aor)
    except ValueError:
        return ValueError


@given(AORS)
@example("sip:alice@example.com")
@example("sip:alice@pbx1")  # sipmessage's URI.parse refused a top label ending in a digit
@example("sip:alice@1pbx")
@example("sips:a.b-c@kazoo.test")
@example("sip:alice@1.2.3.4")
@example("sip:alice@example.com.")
@example("sip:alice@a--b.c")
@example("sip:al%41ce@example.com")
@example("sip:alice@example.com\n")
@example("sip:@example.com")
def test_aor_parts_is_what_parse_aor_finds(aor: str) -> None:
    assert _fast(aor) == _general(aor)
    plain = PLAIN_AOR.fullmatch(aor)
    assert plain_aor_parts(aor) == (None if plain is None else plain.groups())


@given(st.sampled_from(["sip", "sips"]), st.from_regex(r"[a-z0-9._-]{1,12}", fullmatch=True), HOST)
def test_plain_aors_take_the_fast_path(scheme: str, user: str, host: str) -> None:
    aor = f"{scheme}:{user}@{host}"
    if host.rsplit(".", 1)[-1][0].isalpha():  # a top label starts with a letter
        assert plain_aor_parts(aor) == (scheme, user, host)
    assert _fast(aor) == _general(aor)


def _identity_user_everywhere(identity: str) -> str:
    """identity_user as it read every identity (the reference for its bare-user shortcut)."""
    rest = identity.strip()
    for scheme in ("sips:", "sip:"):
        if rest.lower().startswith(scheme):
            rest = rest[len(scheme) :]
            break
    return rest.split("@", 1)[0].split(";", 1)[0]


@given(
    st.one_of(
        st.text(alphabet="sipSIP:@a.; \t", max_size=12),
        # Bare users of any script's letters and digits, and spaces of any kind.
        st.text(alphabet=st.characters(categories=["L", "N", "Z"]), max_size=12),
    )
)
@example("kazoo17")
@example("\u00b2")
@example(" alice\u3000")
def test_identity_user_of_bare_and_uri_identities(identity: str) -> None:
    assert identity_user(identity) == _identity_user_everywhere(identity)


@given(st.one_of(st.text(max_size=8), st.text(alphabet="aZ9é²٣ǅ_-.%", max_size=8)))
@example("alice42")
@example("é")
@example("²")
def test_a_user_of_letters_and_digits_is_plain_as_the_grammar_says(user: str) -> None:
    # Letters and digits skip the user regex: only ASCII ones are unreserved.
    aor = f"sip:{user}@example.com"
    plain = PLAIN_AOR.fullmatch(aor)
    assert plain_aor_parts(aor) == (None if plain is None else plain.groups())
    assert _fast(aor) == _general(aor)
