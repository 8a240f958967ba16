"""The header store of a request we originate, built in one go with its text.

A REGISTER is built, sent once and kept only to read its answer against. Filling
a ``ParsedHeaders`` field by field (a Python call per field) and rendering it
again through sipmessage's ``Headers.__str__`` (a string concatenation per
line) cost more than everything else in building it. A ``FieldLayout`` is the
list of field names of one kind of request, prepared once; ``OutgoingHeaders``
renders the values given in that order with one ``str.join`` and keeps that
text.

The store is still a ``ParsedHeaders``: every read works as on any message,
and a typed value not given is parsed on its first read. Its field lists are
made from the values only when something reads or changes a field (most
requests we send are never read again: the transaction takes its key from
``client_key``, and the answer is matched on our own Call-ID and CSeq). Any
change drops the kept text and key, so that ``str()`` renders what the store
then holds.
"""

from __future__ import annotations

from .parsed_headers import ParsedHeaders


class FieldLayout:
    """The field names, in order, of requests built alike; each name once."""

    __slots__ = ("keys", "names", "parts")

    def __init__(self, names: tuple[str, ...]) -> None:
        keys = tuple(name.lower() for name in names)
        if len(set(keys)) != len(keys):
            raise ValueError(f"a field layout names each field once: {names!r}")
        self.names = names
        self.keys = keys
        # Headers.__str__'s rendering: "Name: value" lines, then the empty line.
        # The text between the values is fixed ("Via: ", "\r\nMax-Forwards: ",
        # ..., "\r\n\r\n"): kept at the even places of a list whose odd places
        # take the values, one str.join renders it (a '%'-template cost half as much again).
        separators = [f"{name}: " for name in names]
        separators[1:] = [f"\r\n{separator}" for separator in separators[1:]]
        separators.append("\r\n\r\n" if names else "\r\n")
        parts = [""] * (2 * len(names) + 1)
        parts[0::2] = separators
        self.parts = tuple(parts)


class OutgoingHeaders(ParsedHeaders):
    """``ParsedHeaders`` that keep their rendering and their transaction key
    until changed, and make their field lists on first use."""

    def __init__(
        self,
        layout: FieldLayout,
        values: tuple[str, ...],
        typed: dict[str, object] | None = None,
        *,
        client_key: tuple[str, str] | None = None,
    ) -> None:
        """One field per name of ``layout``, with the value at the same place.

        ``client_key`` is the (Via branch, CSeq method) the caller put in these
        values, when it has them at hand (see ``transaction_matching``).
        """
        if len(values) != len(layout.names):
            raise ValueError(f"{len(layout.names)} field values expected, not {len(values)}")
        parts = list(layout.parts)
        parts[1::2] = values
        self._text: str | None = "".join(parts)
        self._layout = layout
        self._values = values
        self._typed = {} if typed is None else typed
        self._unmade = True
        # Read only: the key given when built, None once any field changed.
        self.client_key = client_key

    def _make_fields(self) -> None:
        # Every ParsedHeaders method that reads ``_list`` or ``_index`` calls
        # this first while ``_unmade``: the first read or change of any field.
        lists = [[value] for value in self._values]
        self._list = list(zip(self._layout.names, lists, strict=True))
        self._index = dict(zip(self._layout.keys, lists, strict=True))
        self._unmade = False

    def __str__(self) -> str:
        text = self._text
        if text is None:
            # Only a change drops the text, and every change made the lists.
            text = self._text = super().__str__()
        return text

    # Every change goes through one of these (set calls setlist, add may call load).

    def load(self, name: str, values: list[str], typed: object = None) -> None:
        self._changed()
        super().load(name, values, typed)

    def adopt(
        self,
        fields: list[tuple[str, list[str]]],
        index: dict[str, list[str]],
        typed: dict[str, object],
    ) -> None:
        self._changed()
        super().adopt(fields, index, typed)

    def add(self, key: str, value: str) -> None:
        self._changed()
        super().add(key, value)

    def remove(self, key: str) -> None:
        self._changed()
        super().remove(key)

    def setlist(self, key: str, values: list[str]) -> None:
        self._changed()
        super().setlist(key, values)

    def _changed(self) -> None:
        self._text = None
        self.client_key = None
