"""The From, To and Contact shape a registrar echoes back, recognised without a regex.

A REGISTER's 401 and 200 carry our own From (``<sip:user@realm>;tag=...``), our
own To with the registrar's tag, and, in the 200, our own Contact URI with the
registrar's parameters (``<sip:user@label.invalid;transport=ws>;expires=600;
received="...";+sip.instance="<urn:uuid:...>";reg-id=1``). Each is text
new to ``header_checks``' verdict cache, and its address pattern walks every
character through the host alternatives (hostname, IPv4, IPv6) and the
parameter alternatives: the three values of a 200 cost ~47k instructions that
way (callgrind, compiled), ~19k read by the string operations below.

``simple_address_parts`` answers only for a narrowing of ``header_checks``'
address pattern: ASCII text, no display name, a sip or sips URI whose user is
letters and digits, whose host is dot-separated labels of letters and digits
(the last one starting with a letter) with no port, and with at most one URI
parameter of letters and digits; header parameters as that pattern takes them,
names distinct. For such text it returns what that pattern's ``host`` and ``params``
groups hold; for any other text None, and the pattern decides.
"""

from __future__ import annotations

import functools
from typing import Final

from .parameter_names import skeleton_names_distinct

_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# header_syntax.TOKEN and UNQUOTED_VALUE as sets of characters, for str.strip:
# what strip leaves of a text is empty exactly when every character is in the set.
_TOKEN_CHARS: Final = _LETTERS + "0123456789-.!%*_+`'~"
_UNQUOTED_CHARS: Final = _TOKEN_CHARS + ":[]"
# Stands for a quoted value once cut out: a character of an unquoted value, so the
# parameter reads as name=value, as the pattern's quoted alternative does.
_QUOTED_STAND_IN: Final = "0"


def simple_address_parts(text: str) -> tuple[str, str] | None:
    """The URI host and the header parameters text of an address of the shape above."""
    # Told in constant time (CPython keeps the flag): from here on, isalnum means
    # ASCII letters and digits.
    if not text.isascii():
        return None
    if text.startswith("<sip:"):
        start = 5
    elif text.startswith("<sips:"):
        start = 6
    else:
        return None
    close = text.find(">", start)
    if close < 0:
        return None
    at = text.find("@", start, close)
    if at < 0 or not text[start:at].isalnum():
        return None
    semicolon = text.find(";", at, close)
    if semicolon < 0:
        host = text[at + 1 : close]
    else:
        host = text[at + 1 : semicolon]
        # One URI parameter, ``name`` or ``name=value`` (``transport=ws``).
        name, equals, value = text[semicolon + 1 : close].partition("=")
        if not name.isalnum() or (equals and not value.isalnum()):
            return None
    if not _is_simple_host(host):
        return None
    params = text[close + 1 :]
    if params and not _are_simple_header_parameters(params):
        return None
    return host, params


def _is_simple_host(host: str) -> bool:
    """Labels of letters and digits joined by single dots, the last one starting with
    a letter (a header_syntax.HOSTNAME without hyphens or a final dot)."""
    dot = host.find(".")
    if dot < 0:
        return _is_simple_domain(host)
    # The first label is an account's own (a Contact's random label) or the realm's;
    # what follows it recurs from account to account.
    return host[:dot].isalnum() and _is_simple_domain(host[dot + 1 :])


# Verdicts per domain (bounded, so that hostile input cannot grow it): a registrar's
# replies name a few, the realm's and .invalid.
_DOMAIN_VERDICTS: dict[str, bool] = {}
_MAX_DOMAIN_VERDICTS: Final = 64


def _is_simple_domain(domain: str) -> bool:
    """``_is_simple_host`` for ASCII text, remembered."""
    known = _DOMAIN_VERDICTS.get(domain)
    if known is not None:
        return known
    top = domain[domain.rfind(".") + 1 :]
    verdict = (
        not domain.startswith(".")
        and ".." not in domain
        and top != ""
        and top[0] in _LETTERS
        and domain.replace(".", "").isalnum()
    )
    if len(_DOMAIN_VERDICTS) < _MAX_DOMAIN_VERDICTS:
        _DOMAIN_VERDICTS[domain] = verdict
    return verdict


def _are_simple_header_parameters(params: str) -> bool:
    """``params`` (ASCII) is ``*(;token[=(unquoted / quoted-string without '"' or
    '\\')])`` with no name repeated, case aside: what the address pattern's ``params``
    group and its repeated-name scan accept."""
    if params[0] != ";":
        return False
    if '"' not in params:
        return _is_simple_skeleton(params)
    skeleton = _without_quoted_values(params)
    return skeleton is not None and _remembered_skeleton_verdict(skeleton)


def _without_quoted_values(params: str) -> str | None:
    """``params`` with each quoted value replaced by a stand-in; None when a quoted
    value is not one (unclosed, with a backslash, not a whole ``=value``)."""
    pieces = params.split('"')
    count = len(pieces)
    if count % 2 == 0:
        return None  # an unclosed quote
    # Odd pieces were quoted: each must follow '=' and be followed by ';' or the end.
    for index in range(1, count, 2):
        if "\\" in pieces[index] or not pieces[index - 1].endswith("="):
            return None
        after = pieces[index + 1]
        if after and after[0] != ";":
            return None
        pieces[index] = _QUOTED_STAND_IN
    return "".join(pieces)


# A registrar's Contact parameters differ from account to account only inside their
# quotes: the verdict on what is left is remembered (bounded, so that hostile input
# cannot grow it).
@functools.lru_cache(maxsize=256)
def _remembered_skeleton_verdict(skeleton: str) -> bool:
    return _is_simple_skeleton(skeleton)


def _is_simple_skeleton(params: str) -> bool:
    """``;name[=value]`` pairs of tokens and unquoted values, no name repeated."""
    if params.find(";", 1) < 0:  # one parameter (a From or To tag): no name to repeat
        name, equals, value = params[1:].partition("=")
        return _is_made_of(name, _TOKEN_CHARS) and (
            not equals or _is_made_of(value, _UNQUOTED_CHARS)
        )
    parts = params.split(";")
    for index in range(1, len(parts)):
        name, equals, value = parts[index].partition("=")
        if not _is_made_of(name, _TOKEN_CHARS):
            return False
        if equals and not _is_made_of(value, _UNQUOTED_CHARS):
            return False
    return skeleton_names_distinct(params)


def _is_made_of(text: str, chars: str) -> bool:
    """``text`` (ASCII) is not empty and every character of it is in ``chars``, which
    holds the letters, digits and '.'."""
    # Most names and values are letters and digits, or those and dots (a registrar's
    # tag): str.strip below costs ten times as much, as it searches ``chars`` for
    # every character.
    if text.isalnum() or text.replace(".", "").isalnum():
        return True
    return text != "" and not text.strip(chars)
