"""RFC 3261 grammar for the header values the stack relies on.

sipmessage's own parsers reject valid input that servers do send: whitespace
before a comma, ``qop="auth,auth-int"`` (it splits inside quotes), a comma in
a quoted display name, an unbracketed IPv6 ``received``, URI headers, other
URI schemes. These parsers accept the RFC grammar, build sipmessage's value
classes, and raise ``ParseError`` for anything else. Values arrive unfolded
(one line, no CR/LF) and stripped.
"""

from __future__ import annotations

import email.utils
import re
import urllib.parse

from sipmessage import (
    URI,
    Address,
    AuthChallenge,
    AuthCredentials,
    AuthParameters,
    CSeq,
    MediaType,
    Parameters,
    Via,
)
from sipmessage import grammar as sipgrammar

from .errors import ParseError
from .header_values import AbsoluteURI, Event, RetryAfter, SubscriptionState, URIWithHeaders

TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
QUOTED = r'"(?:[^"\\]|\\[\s\S])*"'
WS = r"[ \t]*"
# Generic parameter values (RFC 3261 gen-value): token, host (with an unbracketed
# IPv6 address for Via received/maddr, section 20.42) or quoted-string;
# UNQUOTED_VALUE is the first two.
UNQUOTED_VALUE = r"[A-Za-z0-9\-.!%*_+`'~:\[\]]+"
_PARAM_VALUE = rf"{QUOTED}|{UNQUOTED_VALUE}"

TOKEN_RE = re.compile(TOKEN)
_PARAM_RE = re.compile(rf"{WS};{WS}({TOKEN})(?:{WS}={WS}({_PARAM_VALUE}))?")
# The common shape, no whitespace and no quotes, is split without a regex loop.
_PLAIN_PARAMS_RE = re.compile(rf"(?:;{TOKEN}(?:={UNQUOTED_VALUE})?)*")
# RFC 3261 section 25.1 host. sipmessage's hostname rule rejects a top label
# with a digit after letters ("sip:alice@pbx1"), so the URI and Via rules
# here use their own. A label is one run of alphanumerics and hyphens that
# neither starts nor ends with a hyphen, told by one-character lookarounds:
# the RFC's form, alnum [*(alnum / "-") alnum], backtracks through every label
# and costs ~20 % more (every address and Via has a host).
_ESCAPED = r"%[0-9A-Fa-f]{2}"
HOSTNAME = r"(?:(?!-)[A-Za-z0-9\-]+(?<!-)\.)*(?=[A-Za-z])[A-Za-z0-9\-]+(?<!-)\.?"
HOST = rf"(?:{HOSTNAME}|{sipgrammar.IPV4ADDRESS}|{sipgrammar.IPV6REFERENCE})"
# RFC 3261 s.25.1 unreserved (alphanum / mark), for a character class.
UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
_USER_RE = re.compile(rf"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|{_ESCAPED})+")
_PASSWORD_RE = re.compile(rf"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|{_ESCAPED})*")
_URI_PARAM_CHAR = rf"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|{_ESCAPED})"
_HOSTPORT_PARAMS_RE = re.compile(
    rf"(?P<host>{HOST})(?::(?P<port>[0-9]{{1,5}}))?"
    rf"(?P<params>(?:;{_URI_PARAM_CHAR}+(?:={_URI_PARAM_CHAR}+)?)*)"
)
# The common name-addr up to its '>': an optional quoted name without
# quoted-pairs, a sip/sips URI without escapes, password or headers.
_PLAIN_URI_PARAM_CHAR = r"[A-Za-z0-9\-_.!~*'()\[\]/:&+$]"
_PLAIN_NAME_ADDR_RE = re.compile(
    rf'(?:"(?P<name>[^"\\]*)"{WS})?<(?P<scheme>sips?):'
    rf"(?:(?P<user>[A-Za-z0-9\-_.!~*'()&=+$]+)@)?(?P<host>{HOST})(?::(?P<port>[0-9]{{1,5}}))?"
    rf"(?P<uri_params>(?:;{_PLAIN_URI_PARAM_CHAR}+(?:={_PLAIN_URI_PARAM_CHAR}+)?)*)>"
)
_QUOTED_NAME_RE = re.compile(rf"({QUOTED}){WS}<")
_TOKEN_NAME_RE = re.compile(rf"((?:{TOKEN}(?:[ \t]+{TOKEN})*)?){WS}<")
_ADDR_SPEC_RE = re.compile(r"[^;\s]+")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_OPAQUE_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,\[\]]+")
_URI_HEADERS_RE = re.compile(
    r"[A-Za-z0-9\-_.!~*'()\[\]/?:+$]+=[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]*"
    r"(?:&[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]+=[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]*)*"
)
_VIA_RE = re.compile(
    rf"(?P<protocol>{TOKEN}){WS}/{WS}(?P<version>{TOKEN}){WS}/{WS}(?P<transport>{TOKEN})"
    rf"[ \t]+(?P<host>{HOST})(?:{WS}:{WS}(?P<port>[0-9]{{1,5}}))?"
)
# The common Via: "SIP/2.0/WS host;branch=...;rport=N;received=IP", no
# whitespace inside and plain parameters, in one pass of the regex engine.
# Its optional parts are (?:x|), not (?:x)?: the same match, but an alternation
# costs the engine fewer instructions than a repeat.
_PLAIN_VIA_RE = re.compile(
    rf"SIP/2\.0/({TOKEN}) ({HOST})(?::([0-9]{{1,5}})|)"
    rf"((?:;{TOKEN}(?:={UNQUOTED_VALUE}|))+)"
)
# A response's Via as Kamailio echoes ours: the branch we sent, then the rport
# and received it adds. These names are fixed and distinct, so the parameters
# need no split and no check for repeats: what parse_via then makes from the
# groups is what the plain path above makes from the same text.
_BRANCH_VIA_RE = re.compile(
    rf"SIP/2\.0/({TOKEN}) ({HOST})(?::([0-9]{{1,5}})|);branch=({UNQUOTED_VALUE})"
    rf"(?:;rport=({UNQUOTED_VALUE})|)(?:;received=({UNQUOTED_VALUE})|)"
)
_CSEQ_RE = re.compile(rf"([0-9]{{1,10}})[ \t]+({TOKEN})")
_DIGITS_RE = re.compile(r"[0-9]{1,10}")
_CALL_ID_WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"
_CALL_ID_RE = re.compile(rf"{_CALL_ID_WORD}(?:@{_CALL_ID_WORD})?")
_MEDIA_TYPE_RE = re.compile(rf"({TOKEN}){WS}/{WS}({TOKEN})")
_AUTH_SCHEME_RE = re.compile(rf"({TOKEN})(?:[ \t]+|$)")
_AUTH_PARAM_RE = re.compile(rf"({TOKEN}){WS}={WS}({QUOTED}|{TOKEN})")
_COMMA_RE = re.compile(rf"{WS},{WS}")
_NEXT_CHALLENGE_RE = re.compile(rf"{TOKEN}[ \t]+{TOKEN}{WS}=")
# rfc1123-date, and only in GMT (RFC 3261 section 20.17).
_DATE_RE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60) GMT"
)
_QUOTED_PAIR_RE = re.compile(r"\\([\s\S])")

MAX_UINT32 = 2**32 - 1
_new_object = object.__new__


def fail(what: str, value: str) -> ParseError:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return ParseError(f"invalid {what}: {shown!r}")


def unquote(text: str) -> str:
    """The content of a quoted-string, quoted-pairs resolved."""
    inner = text[1:-1]
    return _QUOTED_PAIR_RE.sub(r"\1", inner) if "\\" in inner else inner


def split_commas(value: str) -> list[str]:
    """Split a comma-separated list, ignoring commas in quotes and in ``<...>``."""
    if '"' not in value and "<" not in value:
        items = value.split(",")
    else:
        items = []
        start = 0
        in_quote = False
        in_angle = False
        escaped = False
        for index, char in enumerate(value):
            if escaped:
                escaped = False
            elif in_quote:
                if char == "\\":
                    escaped = True
                elif char == '"':
                    in_quote = False
            elif char == '"':
                in_quote = True
            elif char == "<":
                in_angle = True
            elif char == ">":
                in_angle = False
            elif char == "," and not in_angle:
                items.append(value[start:index])
                start = index + 1
        if in_quote:
            raise fail("quoting", value)
        items.append(value[start:])
    stripped = [item.strip(" \t") for item in items]
    if "" in stripped:
        raise fail("list", value)
    return stripped


def parse_params(text: str, pos: int = 0) -> Parameters:
    """``*( SEMI generic-param )`` from ``pos`` to the end of ``text``."""
    data: dict[str, str | None] = {}
    seen: set[str] = set()
    end = len(text)
    if pos < end and _PLAIN_PARAMS_RE.fullmatch(text, pos) is not None:
        for part in text[pos + 1 :].split(";"):
            name, equals, value = part.partition("=")
            lowered = name.lower()
            if lowered in seen:
                raise fail("duplicate parameter", name)
            seen.add(lowered)
            data[name] = value if equals else None
        return Parameters(**data)
    while pos < end:
        match = _PARAM_RE.match(text, pos)
        if match is None:
            if text[pos:].strip(" \t"):
                raise fail("parameters", text[pos:])
            break
        name = match.group(1)
        lowered = name.lower()
        if lowered in seen:
            raise fail("duplicate parameter", name)
        seen.add(lowered)
        data[name] = match.group(2)
        pos = match.end()
    return Parameters(**data)


def parse_uri(text: str, *, allow_headers: bool) -> URI:
    """A SIP/SIPS URI as sipmessage's ``URI`` (user, password and parameters
    unescaped as ``URI.parse`` does), a TEL URI through ``URI.parse``, or
    another scheme kept opaque."""
    colon = text.find(":")
    scheme = text[:colon].lower() if colon > 0 else ""
    if scheme in ("sip", "sips"):
        return _sip_uri(text, scheme, text[colon + 1 :], allow_headers)
    if scheme == "tel":
        try:
            return URI.parse(f"tel:{text[4:]}")
        except ValueError:
            raise fail("URI", text) from None
    if (
        colon > 0
        and _SCHEME_RE.fullmatch(text, 0, colon) is not None
        and _OPAQUE_RE.fullmatch(text, colon + 1) is not None
    ):
        return AbsoluteURI(scheme=text[:colon], host="", opaque=text[colon + 1 :])
    raise fail("URI", text)


def _sip_uri(text: str, scheme: str, rest: str, allow_headers: bool) -> URI:
    # '@' cannot appear unescaped after the userinfo, nor '?' before the host
    # be told from a user character: split on the last '@' first.
    at = rest.rfind("@")
    user: str | None = None
    password: str | None = None
    if at >= 0:
        userinfo = rest[:at]
        user, colon, secret = userinfo.partition(":")
        if _USER_RE.fullmatch(user) is None:
            raise fail("URI user", text)
        if colon:
            if _PASSWORD_RE.fullmatch(secret) is None:
                raise fail("URI password", text)
            password = unquote_uri(secret)
        user = unquote_uri(user)
        rest = rest[at + 1 :]
    headers: str | None = None
    question = rest.find("?")
    if question >= 0:
        headers = rest[question + 1 :]
        rest = rest[:question]
        if not allow_headers or _URI_HEADERS_RE.fullmatch(headers) is None:
            raise fail("URI headers", text)
    match = _HOSTPORT_PARAMS_RE.fullmatch(rest)
    if match is None:
        raise fail("URI", text)
    port_text = match.group("port")
    port = int(port_text) if port_text else None
    if port is not None and port > 65535:
        raise fail("URI port", text)
    params = match.group("params")
    parameters = _uri_params(params) if params else Parameters()
    host = match.group("host")
    if headers is not None:
        return URIWithHeaders(
            scheme=scheme,
            host=host,
            user=user,
            password=password,
            port=port,
            parameters=parameters,
            headers=headers,
        )
    return URI(
        scheme=scheme, host=host, user=user, password=password, port=port, parameters=parameters
    )


def unquote_uri(text: str) -> str:
    return urllib.parse.unquote(text) if "%" in text else text


def _uri_params(text: str) -> Parameters:
    data: dict[str, str | None] = {}
    seen: set[str] = set()
    for part in text[1:].split(";"):
        name, equals, value = part.partition("=")
        name = unquote_uri(name)
        if name.lower() in seen:
            raise fail("duplicate URI parameter", name)
        seen.add(name.lower())
        data[name] = unquote_uri(value) if equals else None
    return Parameters(**data)


def parse_address(text: str) -> Address:
    """``(name-addr / addr-spec) *(SEMI generic-param)``, one list element."""
    plain = _PLAIN_NAME_ADDR_RE.match(text)
    if plain is not None:
        return _plain_address(text, plain)
    return general_address(text)


def _plain_address(text: str, match: re.Match[str]) -> Address:
    """The name-addr shape of ``_PLAIN_NAME_ADDR_RE`` read from its groups.

    Its URI has no escapes, password, headers, '@' or '?' outside the
    userinfo separator, so the groups are exactly what ``general_address``
    would find with one more pass of ``_HOSTPORT_PARAMS_RE``.
    """
    name, scheme, user, host, port_text, uri_params = match.group(
        "name", "scheme", "user", "host", "port", "uri_params"
    )
    port = int(port_text) if port_text else None
    if port is not None and port > 65535:
        raise fail("URI port", text[match.start("scheme") : match.end() - 1])
    uri = URI(
        scheme=scheme,
        host=host,
        user=user,
        password=None,
        port=port,
        parameters=_uri_params(uri_params) if uri_params else Parameters(),
    )
    return Address(uri=uri, name=name or "", parameters=parse_params(text, match.end()))


def general_address(text: str) -> Address:
    """``parse_address`` for any shape."""
    if text.startswith('"'):
        match = _QUOTED_NAME_RE.match(text)
        if match is None:
            raise fail("address", text)
        name = unquote(match.group(1))
    else:
        match = _TOKEN_NAME_RE.match(text)
        name = match.group(1) if match is not None else ""
    if match is not None:
        close = text.find(">", match.end())
        if close < 0:
            raise fail("address", text)
        uri = parse_uri(text[match.end() : close], allow_headers=True)
        params = parse_params(text, close + 1)
    else:
        # addr-spec: RFC 3261 section 20.10 -- a URI with ';', ',' or '?'
        # must be in name-addr form, so ';' starts the header parameters.
        spec = _ADDR_SPEC_RE.match(text)
        if spec is None:
            raise fail("address", text)
        uri = parse_uri(spec.group(0), allow_headers=False)
        params = parse_params(text, spec.end())
    return Address(uri=uri, name=name, parameters=params)


def parse_via(text: str) -> Via:
    echoed = _BRANCH_VIA_RE.fullmatch(text)
    if echoed is not None:
        transport, host, port_text, branch, rport, received = echoed.groups()
        port = int(port_text) if port_text else None
        if port is None or port <= 65535:
            data: dict[str, str | None] = {"branch": branch}
            if rport is not None:
                data["rport"] = rport
            if received is not None:
                data["received"] = received
            return _plain_via(transport, host, port, data)
    plain = _PLAIN_VIA_RE.fullmatch(text)
    if plain is not None:
        transport, host, port_text, params = plain.groups()
        port = int(port_text) if port_text else None
        data = {}
        for part in params[1:].split(";"):
            name, equals, value = part.partition("=")
            data[name] = value if equals else None
        if (port is None or port <= 65535) and len({name.lower() for name in data}) == params.count(
            ";"
        ):
            return _plain_via(transport, host, port, data)
    return general_via(text)


def _plain_via(transport: str, host: str, port: int | None, data: dict[str, str | None]) -> Via:
    """``Via(transport, host, port, Parameters(**data))``, built with about half the instructions.

    Every response's Via is built when its transaction is looked up. Via is a
    frozen dataclass, whose ``__init__`` stores each field through
    ``object.__setattr__``, and ``Parameters.__init__`` copies its keyword
    arguments into a dict of its own: here the instances get their attribute
    dicts directly, and ``data`` (made for this Via alone) is the parameters'
    dict. The result is equal to, and behaves as, the one the constructors build.
    """
    parameters = _new_object(Parameters)
    # The name-mangled attribute Parameters.__init__ sets (self.__data).
    parameters.__dict__["_Parameters__data"] = data
    via = _new_object(Via)
    # Item by item, not update(transport=..., ...): no keyword dict to build.
    fields: dict[str, object] = via.__dict__
    fields["transport"] = transport
    fields["host"] = host
    fields["port"] = port
    fields["parameters"] = parameters
    return via


def general_via(text: str) -> Via:
    """``parse_via`` for any shape."""
    match = _VIA_RE.match(text)
    if match is None:
        raise fail("Via", text)
    protocol, version, transport, host, port = match.group(
        "protocol", "version", "transport", "host", "port"
    )
    if protocol.upper() != "SIP" or version != "2.0":
        raise fail("Via protocol", text)
    port_number = int(port) if port else None
    if port_number is not None and port_number > 65535:
        raise fail("Via port", text)
    params = parse_params(text, match.end())
    return Via(transport=transport, host=host, port=port_number, parameters=params)


def parse_cseq(text: str) -> CSeq:
    match = _CSEQ_RE.fullmatch(text)
    if match is None:
        raise fail("CSeq", text)
    sequence = int(match.group(1))
    if sequence > MAX_UINT32:
        raise fail("CSeq number", text)
    return CSeq(sequence=sequence, method=match.group(2))


def parse_uint(text: str, what: str, maximum: int = MAX_UINT32) -> int:
    if _DIGITS_RE.fullmatch(text) is None:
        raise fail(what, text)
    value = int(text)
    if value > maximum:
        raise fail(what, text)
    return value


def parse_call_id(text: str) -> str:
    if _CALL_ID_RE.fullmatch(text) is None:
        raise fail("Call-ID", text)
    return text


def parse_date(text: str) -> str:
    """A valid rfc1123 GMT date, so that sipmessage's ``date`` accessor works."""
    if _DATE_RE.fullmatch(text) is None:
        raise fail("Date", text)
    try:
        email.utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, OverflowError):
        raise fail("Date", text) from None
    return text


def parse_media_type(text: str) -> MediaType:
    match = _MEDIA_TYPE_RE.match(text)
    if match is None:
        raise fail("media type", text)
    return MediaType(
        mime_type=f"{match.group(1)}/{match.group(2)}",
        parameters=parse_params(text, match.end()),
    )


def parse_event(text: str) -> Event:
    match = TOKEN_RE.match(text)
    if match is None:
        raise fail("Event", text)
    return Event(package=match.group(0), parameters=parse_params(text, match.end()))


def parse_subscription_state(text: str) -> SubscriptionState:
    match = TOKEN_RE.match(text)
    if match is None:
        raise fail("Subscription-State", text)
    params = parse_params(text, match.end())
    for numeric in ("expires", "retry-after"):
        value = params.get(numeric)
        if value is not None:
            parse_uint(value, f"Subscription-State {numeric}")
    return SubscriptionState(state=match.group(0), parameters=params)


def parse_retry_after(text: str) -> RetryAfter:
    match = _DIGITS_RE.match(text)
    if match is None:
        raise fail("Retry-After", text)
    seconds = parse_uint(match.group(0), "Retry-After")
    pos = match.end()
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    comment = ""
    if pos < len(text) and text[pos] == "(":
        end = _comment_end(text, pos)
        comment = text[pos + 1 : end - 1]
        pos = end
    return RetryAfter(seconds=seconds, comment=comment, parameters=parse_params(text, pos))


def _comment_end(text: str, start: int) -> int:
    """Index just past the (possibly nested) comment opening at ``start``."""
    depth = 0
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    raise fail("comment", text[start:])


def _auth_groups(text: str) -> list[tuple[str, dict[str, str], str | None]]:
    """Schemes with their auth-params (or token68), in order.

    RFC 3261 puts one challenge in each header, RFC 7235 allows several
    comma-separated; both are accepted.
    """
    groups: list[tuple[str, dict[str, str], str | None]] = []
    pos = 0
    end = len(text)
    while True:
        scheme_match = _AUTH_SCHEME_RE.match(text, pos)
        if scheme_match is None:
            raise fail("authentication header", text)
        scheme = scheme_match.group(1)
        pos = scheme_match.end()
        params: dict[str, str] = {}
        seen: set[str] = set()
        token: str | None = None
        if pos < end:
            param = _AUTH_PARAM_RE.match(text, pos)
            if param is None:
                single = TOKEN_RE.fullmatch(text, pos)
                if single is None:
                    raise fail("authentication header", text)
                token = single.group(0)
                pos = end
        while pos < end:
            param = _AUTH_PARAM_RE.match(text, pos)
            if param is None:
                raise fail("authentication parameter", text[pos:])
            name, value = param.group(1), param.group(2)
            if name.lower() in seen:
                raise fail("duplicate authentication parameter", name)
            seen.add(name.lower())
            params[name] = unquote(value) if value.startswith('"') else value
            pos = param.end()
            if pos == end:
                break
            comma = _COMMA_RE.match(text, pos)
            if comma is None:
                raise fail("authentication header", text[pos:])
            pos = comma.end()
            if pos == end:
                raise fail("authentication header", text)
            if _NEXT_CHALLENGE_RE.match(text, pos) is not None:
                break
        groups.append((scheme, params, token))
        if pos >= end:
            return groups


def parse_challenges(text: str) -> list[AuthChallenge]:
    challenges = []
    for scheme, params, token in _auth_groups(text):
        if token is not None:
            raise fail("challenge", text)
        challenges.append(AuthChallenge(scheme=scheme, parameters=AuthParameters(**params)))
    return challenges


def parse_credentials(text: str) -> AuthCredentials:
    groups = _auth_groups(text)
    if len(groups) != 1:
        raise fail("credentials", text)
    scheme, params, token = groups[0]
    if token is not None:
        return AuthCredentials(scheme=scheme, token=token)
    if not params:
        raise fail("credentials", text)
    return AuthCredentials(scheme=scheme, parameters=AuthParameters(**params))
