"""Cheap checks that a header value's typed parse cannot fail.

``parse_message`` must check every header the stack relies on, but most
messages never have their From, To, Contact or WWW-Authenticate read as
objects (a REGISTER's 401 and 200 are matched on Via and CSeq). Building
sipmessage objects costs several times what recognising their text does, so
for the common shapes of these values one compiled regex (and a scan for
repeated parameter names, which a regex cannot express) stands in for the
parse, and the typed value is built from the checked text on first access.

Each check answers True only for text that the full parser in
``header_syntax`` is certain to accept: its pattern is a narrowing of that
parser's grammar (the same sub-patterns, fewer alternatives: no escapes or
quoted-pairs, no token display names, no whitespace inside parameters, no URI headers or
passwords, ports written as at most 65535). False means "not this shape",
not "invalid": the caller then parses eagerly, which raises ``ParseError``
for bad input as before. The From, To and Contact a registrar echoes back
are recognised without the address pattern (``simple_address``), which
would give them the same verdict.
"""

from __future__ import annotations

import functools
import re

from .header_syntax import HOST, TOKEN, UNQUOTED_VALUE
from .parameter_names import names_distinct
from .simple_address import simple_address_parts

# A quoted-string without quoted-pairs: one character class instead of the
# full rule's per-character alternation, which the regex engine walks slowly.
_QUOTED = r'"[^"\\]*"'
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# Unescaped characters only: header_syntax unescapes %XX, which this check
# would then have to repeat to compare parameter names.
_USER = r"[A-Za-z0-9\-_.!~*'()&=+$]+"
_URI_PARAM_CHAR = r"[A-Za-z0-9\-_.!~*'()\[\]/:&+$]"
# Optional parts are written (?:x|), not (?:x)?: the same match (x first, else
# nothing), but the regex engine runs an alternation with fewer instructions
# than its repeat machinery, ~10 % of matching a value.
_ADDRESS_RE = re.compile(
    rf'(?:"[^"\\]*"[ \t]*|)<sips?:(?:{_USER}@|)(?P<host>{HOST})(?::{_PORT}|)'
    rf"(?P<uri_params>(?:;{_URI_PARAM_CHAR}+(?:={_URI_PARAM_CHAR}+|))*)>"
    rf"(?P<params>(?:;{TOKEN}(?:={UNQUOTED_VALUE}|={_QUOTED}|))*)"
)
_AUTH_PARAM = rf"{TOKEN}[ \t]*=[ \t]*(?:{_QUOTED}|{TOKEN})"
_CHALLENGE_RE = re.compile(
    rf"{TOKEN}[ \t]+(?P<params>{_AUTH_PARAM}(?:[ \t]*,[ \t]*{_AUTH_PARAM})*)"
)
# Parameters of text the patterns above accepted, quoted values skipped.
_PARAM_PAIRS_RE = re.compile(r';([^;="]+)(?:=("[^"]*"|[^;"]*))?')
_AUTH_PARAM_NAMES_RE = re.compile(r'(?:^|,)[ \t]*([^=, \t"]+)[ \t]*=[ \t]*(?:"[^"]*"|[^,"]*)')


def _distinct(names: list[str]) -> bool:
    lowered = {name.lower() for name in names}
    return len(lowered) == len(names)


def address_is_plain(text: str) -> bool:
    """``parse_address(text)`` will succeed: a name-addr with a SIP URI."""
    return _plain_address(text) is not None


# The same From, To and Contact texts come back in every response of a
# transaction (the 401 and the 200 to a REGISTER), and the registrar's 2xx
# Contact is read again by registration_timing: remembering the verdict per
# text (bounded, so hostile input cannot grow it) saves reading it again.
@functools.lru_cache(maxsize=2048)
def _plain_address(text: str) -> tuple[str, str] | None:
    """The ``host`` and ``params`` groups of ``_plain_address_match(text)``, None when
    that is None. A registrar's echo of our own addresses is read by string operations
    (simple_address), anything else by the pattern."""
    simple = simple_address_parts(text)
    if simple is not None:
        return simple
    match = _plain_address_match(text)
    if match is None:
        return None
    host, params = match.group("host", "params")
    return host, params


def _plain_address_match(text: str) -> re.Match[str] | None:
    """``_ADDRESS_RE``'s match of ``text``, None also when a parameter name repeats."""
    match = _ADDRESS_RE.fullmatch(text)
    if match is None:
        return None
    # One ';' (a To tag, a lone lr) cannot repeat a name: most values end here.
    uri_params, params = match.group("uri_params", "params")
    if uri_params.count(";") > 1 and not names_distinct(uri_params):
        return None
    if params.count(";") > 1 and not names_distinct(params):
        return None
    return match


def plain_address_parts(text: str) -> tuple[str, dict[str, str]] | None:
    """The URI host and the header parameters of a value ``address_is_plain`` accepts.

    Parameter names are lower-cased, values kept as written (quoted ones with their
    quotes, '' when absent). None for any other shape: parse it with ``parse_address``.
    For a registrar's 2xx, whose every binding would otherwise be built as objects
    to read one ``expires``.
    """
    parts = _plain_address(text)
    if parts is None:
        return None
    host, params = parts
    pairs = _PARAM_PAIRS_RE.findall(params)
    return host, {name.lower(): value for name, value in pairs}


# A registrar hands the same nonce to many accounts for a while, and the
# digest client checks each challenge again when it answers it.
@functools.lru_cache(maxsize=256)
def challenge_is_plain(text: str) -> bool:
    """``parse_challenges(text)`` will succeed: one challenge of auth-params."""
    match = _CHALLENGE_RE.fullmatch(text)
    return match is not None and _distinct(_AUTH_PARAM_NAMES_RE.findall(match.group("params")))
