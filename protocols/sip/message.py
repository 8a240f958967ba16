"""Parsing SIP messages from the wire (RFC 3261 section 7), on top of sipmessage.

``parse_message`` returns a ``SipRequest`` or ``SipResponse``: sipmessage
``Request``/``Response`` subclasses whose every header the stack relies on has
been checked, and whose typed accessors (``via``, ``cseq``,
``from_address``, ``www_authenticate``, ...) return those parsed values from a
cache. Values of the common shapes that ``header_checks`` recognises are
parsed on their first read instead, which the check guarantees to succeed.
Malformed input raises ``ParseError`` and nothing else, and only here.

Serialization is sipmessage's ``bytes(message)``. What parse_message stores is
already normalized (unfolded lines, canonical header names, one element per
Via/Contact/Route/Record-Route value, body cut to Content-Length), so
``parse_message(bytes(m))`` equals ``m`` by ``messages_equal``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any, cast

from sipmessage import (
    URI,
    Address,
    AuthChallenge,
    AuthCredentials,
    CSeq,
    Headers,
    MediaType,
    Message,
    Request,
    Response,
    Via,
)

from . import header_syntax as syntax
from .errors import ParseError
from .header_fields import (
    CANONICAL_NAMES,
    FIELDS,
    NEEDS_SPLITTING,
    FieldSpec,
    load_value,
    load_values,
    one_value_loader,
    typed_value,
)
from .header_values import Event, RetryAfter, SubscriptionState
from .parsed_headers import ParsedHeaders

# Control characters other than HTAB; CR and LF are checked by counting.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CR_LF_CONTROLS = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])
_FIELD_NAME_RE = re.compile(syntax.TOKEN)
_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_REQUIRED_SET = frozenset(_REQUIRED)


def _reader(spec: FieldSpec) -> Callable[[list[str]], object]:
    return lambda values: typed_value(spec, values)


_READERS = {key: _reader(spec) for key, spec in FIELDS.items()}
_LOADERS = {key: one_value_loader(spec) for key, spec in FIELDS.items()}


class CheckedMessage(Message):
    """Typed accessors backed by the checked values of ``ParsedHeaders``."""

    headers: Headers

    # Any, not object: the accessors assign it to a typed name instead of a
    # typing.cast call (a Python function call on every read of a response's
    # Via and CSeq).
    def _field(self, key: str) -> Any:
        headers = self.headers
        if isinstance(headers, ParsedHeaders):
            return headers.typed(key, _READERS[key])
        return _READERS[key](headers.getlist(FIELDS[key].name))

    def _required(self, key: str) -> Any:
        value = self._field(key)
        if value is None:
            raise ParseError(f"missing {FIELDS[key].name} header")
        return value

    def _set_or_remove(self, name: str, value: object) -> None:
        if value is None:
            self.headers.remove(name)
        else:
            self.headers.set(name, str(value))

    @property
    def via(self) -> list[Via]:
        vias: list[Via] = self._field("via")
        return list(vias)

    @via.setter
    def via(self, value: list[Via]) -> None:
        self.headers.setlist("Via", [str(x) for x in value])

    @property
    def accept(self) -> list[MediaType] | None:
        """``None`` without an Accept header; ``[]`` for an empty one."""
        if self.headers.get("Accept") is None:
            return None
        return list(cast("list[MediaType]", self._field("accept")))

    @accept.setter
    def accept(self, value: list[MediaType] | None) -> None:
        if value is None:
            self.headers.remove("Accept")
        else:
            self.headers.setlist("Accept", [str(x) for x in value] or [""])

    @property
    def contact(self) -> list[Address]:
        return list(cast("list[Address]", self._field("contact")))

    @contact.setter
    def contact(self, value: list[Address]) -> None:
        self.headers.setlist("Contact", [str(x) for x in value])

    @property
    def contact_is_wildcard(self) -> bool:
        """``Contact: *`` (REGISTER removing every binding)."""
        return [v.strip() for v in self.headers.getlist("Contact")] == ["*"]

    @property
    def route(self) -> list[Address]:
        return list(cast("list[Address]", self._field("route")))

    @route.setter
    def route(self, value: list[Address]) -> None:
        self.headers.setlist("Route", [str(x) for x in value])

    @property
    def record_route(self) -> list[Address]:
        return list(cast("list[Address]", self._field("record-route")))

    @record_route.setter
    def record_route(self, value: list[Address]) -> None:
        self.headers.setlist("Record-Route", [str(x) for x in value])

    @property
    def from_address(self) -> Address:
        return cast(Address, self._required("from"))

    @from_address.setter
    def from_address(self, value: Address) -> None:
        self.headers.set("From", str(value))

    @property
    def to_address(self) -> Address:
        return cast(Address, self._required("to"))

    @to_address.setter
    def to_address(self, value: Address) -> None:
        self.headers.set("To", str(value))

    @property
    def refer_to(self) -> Address | None:
        return cast("Address | None", self._field("refer-to"))

    @property
    def cseq(self) -> CSeq:
        value: CSeq = self._required("cseq")
        return value

    @cseq.setter
    def cseq(self, value: CSeq) -> None:
        self.headers.set("CSeq", str(value))

    @property
    def max_forwards(self) -> int | None:
        return cast("int | None", self._field("max-forwards"))

    @max_forwards.setter
    def max_forwards(self, value: int | None) -> None:
        self._set_or_remove("Max-Forwards", value)

    @property
    def content_length(self) -> int | None:
        return cast("int | None", self._field("content-length"))

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        self._set_or_remove("Content-Length", value)

    @property
    def expires(self) -> int | None:
        return cast("int | None", self._field("expires"))

    @expires.setter
    def expires(self, value: int | None) -> None:
        self._set_or_remove("Expires", value)

    @property
    def min_expires(self) -> int | None:
        return cast("int | None", self._field("min-expires"))

    @min_expires.setter
    def min_expires(self, value: int | None) -> None:
        self._set_or_remove("Min-Expires", value)

    @property
    def retry_after(self) -> RetryAfter | None:
        return cast("RetryAfter | None", self._field("retry-after"))

    @property
    def content_type(self) -> MediaType | None:
        return cast("MediaType | None", self._field("content-type"))

    @content_type.setter
    def content_type(self, value: MediaType | None) -> None:
        self._set_or_remove("Content-Type", value)

    @property
    def event(self) -> Event | None:
        return cast("Event | None", self._field("event"))

    @property
    def subscription_state(self) -> SubscriptionState | None:
        return cast("SubscriptionState | None", self._field("subscription-state"))

    @property
    def www_authenticate_all(self) -> list[AuthChallenge]:
        """Every challenge of every WWW-Authenticate header, in order."""
        return list(cast("list[AuthChallenge]", self._field("www-authenticate")))

    @property
    def www_authenticate(self) -> AuthChallenge | None:
        challenges = self.www_authenticate_all
        return challenges[0] if challenges else None

    @www_authenticate.setter
    def www_authenticate(self, value: AuthChallenge | None) -> None:
        self._set_or_remove("WWW-Authenticate", value)

    @property
    def proxy_authenticate_all(self) -> list[AuthChallenge]:
        return list(cast("list[AuthChallenge]", self._field("proxy-authenticate")))

    @property
    def proxy_authenticate(self) -> AuthChallenge | None:
        challenges = self.proxy_authenticate_all
        return challenges[0] if challenges else None

    @proxy_authenticate.setter
    def proxy_authenticate(self, value: AuthChallenge | None) -> None:
        self._set_or_remove("Proxy-Authenticate", value)

    @property
    def authorization(self) -> AuthCredentials | None:
        found = cast("list[AuthCredentials]", self._field("authorization"))
        return found[0] if found else None

    @authorization.setter
    def authorization(self, value: AuthCredentials | None) -> None:
        self._set_or_remove("Authorization", value)

    @property
    def proxy_authorization(self) -> AuthCredentials | None:
        found = cast("list[AuthCredentials]", self._field("proxy-authorization"))
        return found[0] if found else None

    @proxy_authorization.setter
    def proxy_authorization(self, value: AuthCredentials | None) -> None:
        self._set_or_remove("Proxy-Authorization", value)


class SipRequest(CheckedMessage, Request):
    """A sipmessage ``Request`` with checked, cached typed accessors."""

    def __init__(self, method: str, uri: URI, body: bytes = b"") -> None:
        # Request.__init__ sets these same four attributes, its headers a
        # plain Headers that would be thrown away at once.
        self.method = method
        self.uri = uri
        self.body = body
        self.headers = ParsedHeaders()


class SipResponse(CheckedMessage, Response):
    """A sipmessage ``Response`` with checked, cached typed accessors."""

    def __init__(self, code: int, phrase: str, body: bytes = b"") -> None:
        # As SipRequest: Response.__init__ would build a Headers to discard.
        self.code = code
        self.phrase = phrase
        self.body = body
        self.headers = ParsedHeaders()


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one complete message (a datagram, a WebSocket frame, a framed
    stream message). Raises ``ParseError`` for anything malformed."""
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise ParseError("message has no end of header section")
    raw = data[start:end]
    try:
        head = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("header section is not UTF-8") from None
    lines = head.split("\r\n")
    if not separators_only(raw, len(lines) - 1):
        _check_separators(head, lines)
    status = _STATUS_LINES.get(lines[0])
    message = SipResponse(*status) if status is not None else _start_line(lines[0])
    index, typed = _load_fields(cast(ParsedHeaders, message.headers), lines)
    _check_required(message, index)
    message.body = _body(index, typed, data[end + 4 :])
    return message


def separators_only(raw: bytes, separators: int) -> bool:
    """``raw`` holds no CR, LF or control character but its ``separators``
    CRLF pairs: the common case, told by one C-level pass over the bytes
    instead of a regex search and two counts. These characters are all
    ASCII, so in UTF-8 each is one byte that no other character contains."""
    return len(raw) - len(raw.translate(None, _CR_LF_CONTROLS)) == 2 * separators


def _check_separators(head: str, lines: list[str]) -> None:
    """Raise for a bare CR or LF or a misplaced control character; return for
    control characters that are quoted-pairs, which are allowed."""
    if head.count("\r") != len(lines) - 1 or head.count("\n") != len(lines) - 1:
        raise ParseError("bare CR or LF in header section")
    if _CONTROL_RE.search(head) is not None:
        _check_controls(lines)


def _check_controls(lines: list[str]) -> None:
    """Control characters are allowed only as quoted-pairs inside quoted
    strings (RFC 3261 section 25.1), e.g. a NUL in a display name."""
    if _CONTROL_RE.search(lines[0]) is not None:
        raise ParseError("control character in start line")
    for line in lines[1:]:
        if _CONTROL_RE.search(line) is None:
            continue
        in_quote = False
        escaped = False
        for char in line:
            if escaped:
                escaped = False
            elif in_quote and char == "\\":
                escaped = True
            elif char == '"':
                in_quote = not in_quote
            elif _CONTROL_RE.match(char) is not None:
                raise ParseError("control character in header field")


def _start_line(line: str) -> SipRequest | SipResponse:
    if line[:4].upper() == "SIP/":
        code, phrase = _status_line(line)
        return SipResponse(code, phrase)
    parts = line.split(" ")
    if len(parts) != 3:
        raise syntax.fail("request line", line)
    method, uri_text, version = parts
    if version.upper() != "SIP/2.0":
        raise ParseError(f"unsupported SIP version {version[:20]!r}")
    if _FIELD_NAME_RE.fullmatch(method) is None:
        raise syntax.fail("method", method)
    return SipRequest(method, syntax.parse_uri(uri_text, allow_headers=False))


# A server sends the same few status lines over and over ("SIP/2.0 200 OK"):
# remembered, up to a bound so that hostile input cannot grow it.
_STATUS_LINES: dict[str, tuple[int, str]] = {}


def _status_line(line: str) -> tuple[int, str]:
    version, _, rest = line.partition(" ")
    code_text, _, phrase = rest.partition(" ")
    if version.upper() != "SIP/2.0":
        raise ParseError(f"unsupported SIP version {version[:20]!r}")
    if len(code_text) != 3 or not code_text.isascii() or not code_text.isdigit():
        raise syntax.fail("status code", code_text)
    code = int(code_text)
    if not 100 <= code <= 699:
        raise syntax.fail("status code", code_text)
    if len(_STATUS_LINES) < 64:
        _STATUS_LINES[line] = (code, phrase)
    return code, phrase


# Per spelling on the wire: canonical name, lookup key, and the field's
# one-value loader (None for fields parse_message stores unchecked).
_Loader = Callable[[str], object]
_NAMES: dict[str, tuple[str, str, _Loader | None]] = {}


def _field_name(raw: str) -> tuple[str, str, _Loader | None]:
    """Canonical spelling, lookup key and one-value loader of a field name as
    written on the wire.

    Remembered (up to a bound, so that hostile input cannot grow it) because
    the same few spellings arrive in every message.
    """
    name = raw.rstrip(" \t")
    if _FIELD_NAME_RE.fullmatch(name) is None:
        raise syntax.fail("header name", name)
    canonical = CANONICAL_NAMES.get(name.lower(), name)
    key = canonical.lower()
    known = (canonical, key, _LOADERS.get(key))
    if len(_NAMES) < 512:
        _NAMES[raw] = known
    return known


def _load_fields(
    headers: ParsedHeaders, lines: list[str]
) -> tuple[dict[str, list[str]], dict[str, object]]:
    """Check and store every field in one pass over the lines; return the
    value lists and the typed values found, both by lower-case key, as
    ``headers`` now holds them (the parse's last checks read them directly).

    Most messages have each field on one line, without a comma in a list
    field's value, under a name seen before. This loop handles only those,
    with one loader call per line; at the first line of any other kind it
    hands the whole message to ``_load_any_fields``, whose bookkeeping for
    repeated, folded and comma-separated fields costs as much again.
    """
    fields: list[tuple[str, list[str]]] = []
    index: dict[str, list[str]] = {}
    typed: dict[str, object] = {}
    for line in itertools.islice(lines, 1, None):
        name, colon, value = line.partition(":")
        known = _NAMES.get(name)
        if known is None or not colon:
            return _load_any_fields(headers, lines)
        canonical, key, load = known
        value = value.strip(" \t")
        stored = [value]
        fields.append((canonical, stored))
        index[key] = stored
        if load is not None:
            try:
                found = load(value)
            except ParseError:
                # A continuation line may yet complete the value.
                return _load_any_fields(headers, lines)
            if found is not None:
                if found is NEEDS_SPLITTING:
                    return _load_any_fields(headers, lines)
                typed[key] = found
    if len(index) != len(fields):
        # A repeated field (several Via lines): told once here, not per line.
        return _load_any_fields(headers, lines)
    headers.adopt(fields, index, typed)
    return index, typed


def _load_any_fields(
    headers: ParsedHeaders, lines: list[str]
) -> tuple[dict[str, list[str]], dict[str, object]]:
    """``_load_fields`` for any header section.

    Each field is checked as its line is read; a field that turns out to be
    repeated (several Via or Record-Route lines) or folded is checked again
    from all of its values once every line has been read.
    """
    fields: list[tuple[str, list[str]]] = []
    index: dict[str, list[str]] = {}
    typed: dict[str, object] = {}
    # Every field's values as received; only a field in ``again`` needs them.
    received: dict[str, list[str]] = {}
    again: dict[str, None] = {}
    last = ""
    for line in itertools.islice(lines, 1, None):
        name, colon, value = line.partition(":")
        known = _NAMES.get(name)
        if known is None or not colon:
            if line[:1] in (" ", "\t"):
                # Folding (RFC 3261 section 7.3.1): the continuation joins the
                # previous value with one SP.
                if not last:
                    raise ParseError("continuation line before any header field")
                values = received[last]
                values[-1] = (values[-1] + " " + line.strip(" \t")).strip(" \t")
                again[last] = None
                continue
            if not colon:
                raise syntax.fail("header line", line)
            known = _field_name(name)
        canonical, key, _ = known
        spec = FIELDS.get(key)
        value = value.strip(" \t")
        last = key
        if key in index:
            received[key].append(value)
            again[key] = None
            continue
        received[key] = [value]
        stored: list[str] = [value]
        found: object = None
        if spec is not None:
            try:
                stored, found = load_value(spec, value)
            except ParseError:
                # A continuation line may yet complete the value: decide
                # once every line has been read.
                again[key] = None
        fields.append((canonical, stored))
        index[key] = stored
        if found is not None:
            typed[key] = found
    if again:
        # In the order the fields first appear, as the first error found is raised.
        for key in [key for key in index if key in again]:
            _reload(key, received[key], fields, index, typed)
    headers.adopt(fields, index, typed)
    return index, typed


def _reload(
    key: str,
    values: list[str],
    fields: list[tuple[str, list[str]]],
    index: dict[str, list[str]],
    typed: dict[str, object],
) -> None:
    """Check a repeated or folded field again from all of its values."""
    spec = FIELDS.get(key)
    if spec is None:
        stored, found = values, None
    else:
        stored, found = load_values(spec, values)
    old = index[key]
    # The field keeps its place: that of its first line.
    place = next(at for at, (_, kept) in enumerate(fields) if kept is old)
    fields[place] = (fields[place][0], stored)
    index[key] = stored
    typed.pop(key, None)
    if found is not None:
        typed[key] = found


def _check_required(message: SipRequest | SipResponse, index: dict[str, list[str]]) -> None:
    if not _REQUIRED_SET.issubset(index):
        missing = next(key for key in _REQUIRED if key not in index)
        raise ParseError(f"missing {FIELDS[missing].name} header")
    contact = index.get("contact")
    wildcard = contact is not None and len(contact) == 1 and contact[0].strip() == "*"
    if isinstance(message, SipRequest):
        if message.cseq.method != message.method:
            raise ParseError("CSeq method does not match the request method")
        if wildcard and message.method != "REGISTER":
            raise ParseError("Contact: * outside REGISTER")
    elif wildcard:
        raise ParseError("Contact: * in a response")


def _body(index: dict[str, list[str]], typed: dict[str, object], body: bytes) -> bytes:
    if "content-length" not in index:
        return body
    # Content-Length has no lazy check: loading it parsed it.
    found = typed.get("content-length")
    length = cast(
        int, found if found is not None else _READERS["content-length"](index["content-length"])
    )
    if length > len(body):
        raise ParseError(f"Content-Length {length} exceeds the {len(body)} body bytes")
    # Datagram octets past Content-Length are discarded (RFC 3261 section 18.3).
    return body[:length]


def messages_equal(a: Request | Response, b: Request | Response) -> bool:
    """Same start line, same header fields (names compared case-insensitively,
    values and their order exactly) and same body."""
    if isinstance(a, Request) and isinstance(b, Request):
        if a.method != b.method or a.uri != b.uri:
            return False
    elif isinstance(a, Response) and isinstance(b, Response):
        if a.code != b.code or a.phrase != b.phrase:
            return False
    else:
        return False
    return a.body == b.body and _fields(a.headers) == _fields(b.headers)


def _fields(headers: Headers) -> list[tuple[str, list[str]]]:
    # Headers is not iterable: keys() is its only listing.
    return [(name.lower(), headers.getlist(name)) for name in headers.keys()]  # noqa: SIM118
