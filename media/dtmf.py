"""RFC 4733 telephone-events (DTMF in RTP), written here because aiortc has none.

This module is pure: it knows the payload format and the timing rules, not aiortc. The
session plugs :class:`EventSender` and :class:`EventReceiver` into the RTP stream through
media.rtp_hooks, which keeps every touch of aiortc internals in one place.

Sending rules implemented (RFC 4733 s.2.5): an event replaces the audio packets of the SSRC
while it lasts, one packet per audio packet interval; every packet of an event carries the
RTP timestamp of its first packet, the first one has the marker bit, the duration grows with
each packet; the final packet has the E bit and is sent three times. The default event lasts
250 ms because Chromium plays only about a third of each received event (LAB-NOTES).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable

import attrs

DIGITS = "0123456789*#ABCD"
_CODE_OF = {digit: code for code, digit in enumerate(DIGITS)}
DEFAULT_DURATION_MS = 250
DEFAULT_GAP_MS = 60
DEFAULT_VOLUME = 10  # dBm0 below 0, a typical DTMF level
END_REPEATS = 3
MAX_DURATION_UNITS = 0xFFFF


@attrs.frozen
class DtmfEvent:
    """A received digit and how long the far end held it."""

    digit: str
    duration_ms: int


def check_digits(digits: str) -> str:
    """The digits, upper-cased; ValueError naming the first invalid one (nothing is sent)."""
    if not digits:
        raise ValueError("no DTMF digit given")
    normalised = digits.upper()
    for digit in normalised:
        if digit not in _CODE_OF:
            raise ValueError(f"invalid DTMF digit {digit!r}: use 0-9, *, #, A-D")
    return normalised


def encode_payload(code: int, *, end: bool, volume: int, duration: int) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | (volume & 0x3F), duration)


@attrs.frozen
class EventPayload:
    code: int
    end: bool
    volume: int
    duration: int


def decode_payload(payload: bytes) -> EventPayload:
    """Parse a telephone-event payload; ValueError when it is too short."""
    if len(payload) < 4:
        raise ValueError("telephone-event payload shorter than 4 bytes")
    code, flags, duration = struct.unpack_from("!BBH", payload)
    return EventPayload(code=code, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


@attrs.frozen
class OutgoingPacket:
    """An event packet to send in place of an audio packet."""

    payload: bytes
    marker: bool
    timestamp: int


@attrs.define
class _Queued:
    code: int
    duration_ms: int
    on_done: Callable[[], object] | None


class EventSender:
    """Decides, for each outgoing audio packet, whether an event packet replaces it.

    Driven by the audio clock: :meth:`on_audio_packet` is called with the RTP timestamp of
    every outgoing audio packet and returns an :class:`OutgoingPacket` to send instead, or
    None to let the audio through. ``clock_rate`` is the telephone-event clock, equal to the
    audio codec's (the events share the audio timestamp space).
    """

    def __init__(self, clock_rate: int, *, gap_ms: int = DEFAULT_GAP_MS) -> None:
        self.clock_rate = clock_rate
        self._gap_units = clock_rate * gap_ms // 1000
        self._queue: deque[_Queued] = deque()
        self._current: _Queued | None = None
        self._start = 0
        self._target = 0
        self._ends_sent = 0
        self._last_audio: int | None = None
        self._interval = clock_rate // 50
        self._quiet_until: int | None = None
        self.events_sent = 0

    def max_duration_ms(self) -> int:
        return MAX_DURATION_UNITS * 1000 // self.clock_rate

    def enqueue(self, digits: str, duration_ms: int, on_done: Callable[[], object] | None) -> None:
        """Queue checked digits; ``on_done`` runs when the last one's final packet went out."""
        codes = [_CODE_OF[d] for d in check_digits(digits)]
        if not 40 <= duration_ms <= self.max_duration_ms():
            raise ValueError(f"DTMF duration must be 40..{self.max_duration_ms()} ms")
        for index, code in enumerate(codes):
            done = on_done if index == len(codes) - 1 else None
            self._queue.append(_Queued(code=code, duration_ms=duration_ms, on_done=done))

    def pending(self) -> int:
        return len(self._queue) + (1 if self._current else 0)

    def cancel_all(self) -> list[Callable[[], object]]:
        """Drop queued events; returns their completion callbacks so the owner can fail them."""
        callbacks = [q.on_done for q in self._queue if q.on_done]
        if self._current and self._current.on_done:
            callbacks.append(self._current.on_done)
        self._queue.clear()
        self._current = None
        return callbacks

    def on_audio_packet(self, timestamp: int) -> OutgoingPacket | None:
        if self._last_audio is not None:
            step = (timestamp - self._last_audio) & 0xFFFFFFFF
            if 0 < step <= self.clock_rate:
                self._interval = step
        self._last_audio = timestamp

        current = self._current
        if current is None:
            if not self._queue:
                return None
            if self._quiet_until is not None and _before(timestamp, self._quiet_until):
                return None
            current = self._current = self._queue.popleft()
            self._start = timestamp
            self._target = min(MAX_DURATION_UNITS, self.clock_rate * current.duration_ms // 1000)
            self._ends_sent = 0
            return self._packet(current, self._interval, end=False, marker=True)

        elapsed = ((timestamp - self._start) & 0xFFFFFFFF) + self._interval
        if self._ends_sent == 0 and elapsed < self._target:
            return self._packet(current, elapsed, end=False, marker=False)
        self._ends_sent += 1
        packet = self._packet(current, self._target, end=True, marker=False)
        if self._ends_sent >= END_REPEATS:
            self._current = None
            self.events_sent += 1
            self._quiet_until = (timestamp + self._interval + self._gap_units) & 0xFFFFFFFF
            if current.on_done is not None:
                current.on_done()
        return packet

    def _packet(self, item: _Queued, duration: int, *, end: bool, marker: bool) -> OutgoingPacket:
        payload = encode_payload(
            item.code, end=end, volume=DEFAULT_VOLUME, duration=min(duration, MAX_DURATION_UNITS)
        )
        return OutgoingPacket(payload=payload, marker=marker, timestamp=self._start)


def _before(a: int, b: int) -> bool:
    """a < b in 32-bit RTP timestamp arithmetic."""
    return a != b and ((b - a) & 0xFFFFFFFF) < 0x80000000


class EventReceiver:
    """Turns received telephone-event packets into :class:`DtmfEvent` s, once per event.

    An event is identified by its RTP timestamp: retransmitted end packets and the updates of
    an event already reported are ignored. An event whose end packets were all lost is
    reported when the next event starts, with the last duration seen.
    """

    def __init__(self) -> None:
        self._timestamp: int | None = None
        self._code = 0
        self._duration = 0
        self._reported = False
        self.malformed = 0

    def feed(self, payload: bytes, timestamp: int, clock_rate: int) -> list[DtmfEvent]:
        try:
            event = decode_payload(payload)
        except ValueError:
            self.malformed += 1
            return []
        if event.code >= len(DIGITS):
            # Other telephone-events (flash, tones): not DTMF digits, ignored.
            return []
        out: list[DtmfEvent] = []
        if timestamp != self._timestamp:
            if self._timestamp is not None and not self._reported:
                out.append(self._event(clock_rate))
            self._timestamp, self._code = timestamp, event.code
            self._duration, self._reported = 0, False
        if self._reported:
            return out
        self._duration = max(self._duration, event.duration)
        if event.end:
            self._reported = True
            out.append(self._event(clock_rate))
        return out

    def _event(self, clock_rate: int) -> DtmfEvent:
        return DtmfEvent(
            digit=DIGITS[self._code], duration_ms=round(self._duration * 1000 / clock_rate)
        )
