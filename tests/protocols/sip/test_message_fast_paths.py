"""parse_message's shortcuts for the common shapes agree with the general checks."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from protocols.sip import message

# Header sections dense in the characters the checks are about.
_HEAD_CHARS = st.sampled_from(
    ["\r", "\n", "\r\n", "\t", "\x00", "\x1f", "\x7f", '"', "\\", "a", " ", "é"]
)
heads = st.lists(_HEAD_CHARS, max_size=30).map("".join)


@given(heads)
@example("SIP/2.0 200 OK\r\nVia: x")
@example("a\r\r\nb")
@example("a\r\n\nb")
@example('a\r\nX: "\\\x00"')
def test_separators_only_is_exactly_no_bare_cr_lf_and_no_control(head: str) -> None:
    lines = head.split("\r\n")
    general = (
        head.count("\r") == len(lines) - 1
        and head.count("\n") == len(lines) - 1
        and message._CONTROL_RE.search(head) is None
    )
    assert message.separators_only(head.encode(), len(lines) - 1) is general
