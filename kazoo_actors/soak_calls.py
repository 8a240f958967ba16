"""The call mix of ``kazoo-actors soak``: the registered accounts call each other.

Accounts are paired, even index ``2k`` calling ``2k + 1`` through the server (an
odd last account only registers), so every call has a live account that answers
it: callees answer at once (or reject with ``answer_code``). A generator starts
``calls_per_second`` calls, each from the next pair (round robin) whose two
accounts are registered and below ``PAIR_CALL_LIMIT`` calls; a slot with no such
pair is counted as skipped. Each call is answered, sends ``dtmf`` (SIP INFO, or
RFC 4733 in the media when ``dtmf_method`` says so and the call has media), lasts
``call_seconds`` and is hung up by the caller.

Checks, so the numbers mean something: every account sends a tone of its own
frequency (``tone_frequency(index)``; neighbours always differ), and a call has
``media_ok`` when the callee's probe finds the caller's frequency and the caller's
finds the callee's (``--media file``: both hear sound, not silence). ``dtmf_ok`` when
the callee received exactly the digits sent, in order. Both must pass within the
call's length.

Bounds: at most ``calls_per_second x duration`` calls; each waits at most
``answer_timeout`` for the answer (then CANCELs), runs ``call_seconds``, and waits
``END_WAIT`` for its end and the callee's findings. When the generator stops the
mix waits ``drain_seconds`` for the calls in flight and counts what is left as
``unfinished`` (hung up; logout ends them for sure).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any, Literal

import attrs
import trio

from kazoo_actors.account import Account
from kazoo_actors.call import Call, CallError
from kazoo_actors.soak_call_tally import CallTally
from media.options import MediaOptions
from media.probe import ProbeReading
from media.sources import AudioSource, FileSource, Tone
from protocols.sip.dtmf_relay import check_digit

MediaKind = Literal["tone", "file", "none"]
DtmfMethod = Literal["info", "rfc4733"]

PAIR_CALL_LIMIT = 32
"""Calls in flight per pair; the engine refuses (486) beyond 64 per account."""
END_WAIT = 5.0
"""Seconds a call waits for its BYE's answer, then for the callee's findings."""
PROBE_EVERY = 0.25
"""Seconds between probes of received audio (each analyses the last 200 ms)."""
TONE_TOLERANCE_HZ = 20.0


def tone_frequency(index: int) -> float:
    """Account ``index``'s tone: 350-2500 Hz in 50 Hz steps, within what Opus and PCMU carry
    and what the probe resolves; a caller and its callee are one step apart."""
    return 350.0 + 50.0 * (index % 44)


def _digits(_instance: Any, _attribute: Any, value: str) -> None:
    for digit in value:
        check_digit(digit)


@attrs.frozen(kw_only=True)
class CallMixSettings:
    calls_per_second: float = attrs.field(validator=attrs.validators.gt(0))
    call_seconds: float = attrs.field(validator=attrs.validators.gt(0))
    media: MediaKind = attrs.field(
        default="tone", validator=attrs.validators.in_(("tone", "file", "none"))
    )
    media_file: str | None = None
    dtmf: str = attrs.field(default="", validator=_digits)
    dtmf_method: DtmfMethod = attrs.field(
        default="info", validator=attrs.validators.in_(("info", "rfc4733"))
    )
    answer_code: int = attrs.field(default=200)
    media_hosts: tuple[str, ...] | None = None
    answer_timeout: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))

    @answer_code.validator
    def _check_answer_code(self, _attribute: Any, value: int) -> None:
        if value != 200 and not 300 <= value <= 699:
            raise ValueError(f"callees answer 200 or reject with 3xx-6xx, not {value}")

    def __attrs_post_init__(self) -> None:
        if (self.media == "file") != (self.media_file is not None):
            raise ValueError("--media file needs --media-file PATH (and only it does)")

    @property
    def drain_seconds(self) -> float:
        """Long enough for a call started just before the generator stopped."""
        return self.answer_timeout + self.call_seconds + 2 * END_WAIT


@attrs.define
class FarEnd:
    """What the callee found about one call, filled in by the callee's task."""

    heard: bool = False
    digits: list[str] = attrs.field(factory=list)
    done: trio.Event = attrs.field(factory=trio.Event)


@attrs.define(eq=False)
class Pair:
    caller: Account
    callee: Account
    caller_tone: float
    callee_tone: float
    live: int = 0


class CallMix:
    def __init__(self, settings: CallMixSettings) -> None:
        self.settings = settings
        self.tally = CallTally(
            checks_media=settings.media != "none", checks_dtmf=bool(settings.dtmf)
        )
        self._tone_of_user: dict[str, float] = {}
        self._far_ends: dict[str, FarEnd] = {}
        self._tones: dict[float, Tone] = {}
        self._nursery: trio.Nursery | None = None
        self.running = False

    # -- setting the accounts up ---------------------------------------------------------

    def register_changes(self, index: int, user: str) -> dict[str, Any]:
        """Extra ``RegisterParams`` fields of account ``index``: callees answer."""
        self._tone_of_user[user] = tone_frequency(index)
        return {"on_incoming": self._incoming} if index % 2 == 1 else {}

    def configure(self, index: int, account: Account) -> None:
        defaults = account.call_defaults
        settings = self.settings
        defaults.dtmf_method = settings.dtmf_method
        if settings.media == "none":
            defaults.media = "none"
            return
        defaults.media_options = MediaOptions(host_addresses=settings.media_hosts)
        defaults.source = self._source_factory(index)

    def _source_factory(self, index: int) -> Callable[[], AudioSource]:
        path = self.settings.media_file
        if path is not None:
            return partial(FileSource, path, loop=True)
        return partial(self._tone, tone_frequency(index))

    def _tone(self, frequency: float) -> Tone:
        # Building a tone's waveform costs ~35 ms of CPU (a tenth of a tone call's
        # CPU when made per call); a copy shares the immutable waveform and has its
        # own play position.
        prototype = self._tones.get(frequency)
        if prototype is None:
            prototype = self._tones[frequency] = Tone(frequency)
        return copy.copy(prototype)

    # -- the run -------------------------------------------------------------------------

    async def run(self, accounts: list[Account], duration: float) -> None:
        """Generate calls for ``duration`` seconds, then wait (bounded) for those in flight."""
        pairs = [
            Pair(
                accounts[i],
                accounts[i + 1],
                caller_tone=tone_frequency(i),
                callee_tone=tone_frequency(i + 1),
            )
            for i in range(0, len(accounts) - 1, 2)
        ]
        self.running = True
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                started = trio.current_time()
                with trio.move_on_after(duration):
                    await self._generate(pairs, nursery)
                self.tally.generating_s = trio.current_time() - started
                with trio.move_on_after(self.settings.drain_seconds):
                    while self.tally.in_flight:
                        await trio.sleep(0.05)
                nursery.cancel_scope.cancel()
        finally:
            self._nursery = None
            self.running = False

    async def _generate(self, pairs: list[Pair], nursery: trio.Nursery) -> None:
        interval = 1.0 / self.settings.calls_per_second
        next_at = trio.current_time()
        turn = 0
        while True:
            await trio.sleep_until(next_at)
            next_at += interval
            pair = None
            for offset in range(len(pairs)):
                candidate = pairs[(turn + offset) % len(pairs)]
                if (
                    candidate.live < PAIR_CALL_LIMIT
                    and candidate.caller.registered
                    and candidate.callee.registered
                ):
                    pair = candidate
                    turn += offset + 1
                    break
            if pair is None:
                self.tally.skipped += 1
                continue
            self.tally.started()
            pair.live += 1
            nursery.start_soon(self._call, pair)

    async def _call(self, pair: Pair) -> None:
        failure: str | None = "unfinished"
        call: Call | None = None
        try:
            started = trio.current_time()
            try:
                call = await pair.caller.connect(pair.callee.params.user)
            except CallError:
                failure = "not_placed"
                return
            failure = await self._follow(call, pair, started)
        finally:
            pair.live -= 1
            if call is not None:
                self._far_ends.pop(call.id, None)
                _hang_up(call)
            self.tally.finished(failure)

    async def _follow(self, call: Call, pair: Pair, started: float) -> str | None:
        """The caller's side of one call; its failure reason, None when it completed."""
        settings = self.settings
        far_end = self._far_ends.setdefault(call.id, FarEnd())
        events = call.events()
        with trio.move_on_after(settings.answer_timeout):
            async for event in events:
                if event.key == "accepted":
                    break
                if event.key == "cancel":
                    return f"{event.code} {event.message}"
            else:
                return "ended_unanswered"
        if not call.answered:
            return "no_answer"  # the finally's hang-up CANCELs it
        self.tally.was_answered(trio.current_time() - started)
        with suppress(CallError):  # a call already over is reported by its events
            for digit in settings.dtmf:
                call.send_dtmf(digit)
        heard = FarEnd()
        dropped = None
        async with trio.open_nursery() as listening:
            if self.tally.checks_media:
                listening.start_soon(self._listen, call, pair.callee_tone, heard)
            with trio.move_on_after(settings.call_seconds):
                async for event in events:
                    if event.key == "hangup":
                        dropped = f"dropped {event.code} {event.reason}"
                        break
            listening.cancel_scope.cancel()
        if dropped is not None:
            return dropped
        _hang_up(call)
        with trio.move_on_after(END_WAIT):
            await call.wait_ended()
        with trio.move_on_after(END_WAIT):
            await far_end.done.wait()
        return self._judge(far_end, heard)

    def _judge(self, far_end: FarEnd, heard: FarEnd) -> str | None:
        failure = None
        if self.tally.checks_dtmf:
            if far_end.digits == list(self.settings.dtmf):
                self.tally.dtmf_ok += 1
            else:
                failure = "dtmf_not_received"
        if self.tally.checks_media:
            if far_end.heard and heard.heard:
                self.tally.media_ok += 1
            else:
                failure = "media_not_heard"
        return failure

    # -- the callee's side ----------------------------------------------------------------

    def _incoming(self, call: Call) -> None:
        settings = self.settings
        if settings.answer_code != 200:
            call.reject(settings.answer_code)
            return
        call.accept()
        # setdefault: the INVITE may (rarely) arrive before the caller's task noted its call.
        far_end = self._far_ends.setdefault(call.id, FarEnd())
        nursery = self._nursery
        if nursery is None:
            return  # the mix is over: answered, not checked
        if self.tally.checks_media or self.tally.checks_dtmf:
            expected = self._tone_of_user.get(call.caller_number, math.nan)
            nursery.start_soon(self._answer, call, far_end, expected)
        else:
            far_end.done.set()

    async def _answer(self, call: Call, far_end: FarEnd, expected: float) -> None:
        try:
            async with trio.open_nursery() as nursery:
                if self.tally.checks_media:
                    nursery.start_soon(self._listen, call, expected, far_end)
                async for event in call.events():
                    if event.key == "dtmf":
                        far_end.digits.append(event.digit)
                nursery.cancel_scope.cancel()
        finally:
            far_end.done.set()

    async def _listen(self, call: Call, expected: float, into: FarEnd) -> None:
        """Probe the received audio until it is what the far end sends, or the call ends."""
        media = call.media
        if media is None:
            return
        await media.wait_audio()
        while True:
            await trio.sleep(PROBE_EVERY)
            if call.ended:
                return
            reading = call.probe()
            if reading is not None and self._is_expected(reading, expected):
                into.heard = True
                return

    def _is_expected(self, reading: ProbeReading, expected: float) -> bool:
        if self.settings.media == "file":
            return not reading.silent
        return reading.frequency is not None and abs(reading.frequency - expected) <= (
            TONE_TOLERANCE_HZ
        )


def _hang_up(call: Call) -> None:
    with suppress(CallError):  # it ended meanwhile
        if not call.ended:
            call.hangup()
