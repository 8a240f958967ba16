"""The header store of parsed messages.

It is sipmessage's ``Headers`` (same methods, same serialization) with a
case-insensitive index and a cache of typed values. ``parse_message`` fills
the cache while it checks every header, so the typed accessors of a parsed
message cost a dictionary lookup; any change to a header drops its cached
value, and the next read parses the new text again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sipmessage import Headers

T = TypeVar("T")
# Values checked by parse_message but built on first read have no entry yet;
# a sentinel, not KeyError, because that miss is the common case now.
_NOT_PARSED = object()


class ParsedHeaders(Headers):
    # Annotated here, so that compiled (setup.py) they are slots of this class
    # and sipmessage's Headers methods still find ``_list`` by attribute.
    _list: list[tuple[str, list[str]]]
    _index: dict[str, list[str]]
    _typed: dict[str, object]
    # True while ``_list`` and ``_index`` are not made yet: a store built from
    # its values (OutgoingHeaders) makes them only if something reads or
    # changes a field. Every method that reads them checks this first.
    _unmade: bool

    def __init__(self) -> None:
        # Headers.__init__ sets this one attribute; a parsed message makes one
        # of these per message, so the call through super() is spared.
        self._list = []
        self._index = {}
        self._typed = {}
        self._unmade = False

    def _make_fields(self) -> None:
        """Make ``_list`` and ``_index`` and clear ``_unmade``: only a store
        that starts unmade has anything to do."""
        self._unmade = False

    def load(self, name: str, values: list[str], typed: object = None) -> None:
        """Append a whole new field at once (the parser's fast path)."""
        if self._unmade:
            self._make_fields()
        key = name.lower()
        self._list.append((name, values))
        self._index[key] = values
        if typed is not None:
            self._typed[key] = typed

    def adopt(
        self,
        fields: list[tuple[str, list[str]]],
        index: dict[str, list[str]],
        typed: dict[str, object],
    ) -> None:
        """Take over a parsed message's fields, built by the parser in one
        pass: ``(name, values)`` in order, the same value lists by lower-case
        key, and the typed values parsed so far by lower-case key."""
        self._list = fields
        self._index = index
        self._typed = typed
        self._unmade = False

    @property
    def index(self) -> dict[str, list[str]]:
        """The value lists by lower-case field name (read only)."""
        if self._unmade:
            self._make_fields()
        return self._index

    def keys(self) -> list[str]:
        if self._unmade:
            self._make_fields()
        return [k for (k, _values) in self._list]

    def __contains__(self, key: object) -> bool:
        if self._unmade:
            self._make_fields()
        return isinstance(key, str) and key.lower() in self._index

    def typed(self, key: str, parse: Callable[[list[str]], T]) -> T:
        """The typed value of the field ``key`` (lower case), parsed at most once."""
        # Any: taken as T without a typing.cast call (one per typed read).
        found: Any = self._typed.get(key, _NOT_PARSED)
        if found is not _NOT_PARSED:
            value: T = found
            return value
        if self._unmade:
            self._make_fields()
        parsed = parse(self._index.get(key, []))
        self._typed[key] = parsed
        return parsed

    def add(self, key: str, value: str) -> None:
        if self._unmade:
            self._make_fields()
        ikey = key.lower()
        values = self._index.get(ikey)
        if values is None:
            self.load(key, [value])
        else:
            values.append(value)
            self._typed.pop(ikey, None)

    def get(self, key: str, default: str | None = None) -> str | None:
        if self._unmade:
            self._make_fields()
        values = self._index.get(key.lower())
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        if self._unmade:
            self._make_fields()
        # A copy: mutating it in place would bypass the typed cache.
        return list(self._index.get(key.lower(), ()))

    def remove(self, key: str) -> None:
        if self._unmade:
            self._make_fields()
        ikey = key.lower()
        if self._index.pop(ikey, None) is not None:
            self._list = [(k, v) for (k, v) in self._list if k.lower() != ikey]
        self._typed.pop(ikey, None)

    def set(self, key: str, value: str) -> None:
        self.setlist(key, [value])

    def setlist(self, key: str, values: list[str]) -> None:
        if self._unmade:
            self._make_fields()
        ikey = key.lower()
        values = list(values)
        if ikey in self._index:
            self._list = [(k, values if k.lower() == ikey else v) for (k, v) in self._list]
        else:
            self._list.append((key, values))
        self._index[ikey] = values
        self._typed.pop(ikey, None)

    def __getitem__(self, key: str) -> str:
        if self._unmade:
            self._make_fields()
        values = self._index.get(key.lower())
        if not values:
            raise KeyError(key)
        return values[0]
