"""``kazoo-actors phone``: one account that places or answers one call, events as JSON lines.

Registers, then either calls ``--call URI`` or waits for a call and answers it
(``--answer``). Once the call is up it sends ``--dtmf`` digits, transfers the
far end to ``--transfer-to`` if asked, and prints the received audio level and
dominant frequency every second (``{"key": "audio", ...}``). After
``--seconds`` of call (or when the far end hangs up) it hangs up and logs out.
Every account and call event is printed as a JSON line. Exit status 0 when a
call was answered, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from functools import partial
from typing import Any, TextIO

import attrs
import trio

from kazoo_actors.account import Account
from kazoo_actors.call import Call, CallError
from kazoo_actors.call_events import CallIncoming
from kazoo_actors.cli.account_arguments import account_params, add_account_arguments
from kazoo_actors.engine import open_engine
from kazoo_actors.params import RegisterParams
from media.options import MediaOptions
from media.sinks import AudioSink, FileRecorder
from media.sources import AudioSource, FileSource, Tone
from protocols.sip.dtmf_relay import check_digit

DTMF_SPACING = 0.3
"""Seconds between digits: each is held 160-250 ms by either method."""


@attrs.frozen(kw_only=True)
class PhoneOptions:
    params: RegisterParams
    call: str | None = None
    answer: bool = False
    dtmf: str = ""
    dtmf_method: str = "info"
    tone: float | None = None
    play: str | None = None
    record: str | None = None
    transfer_to: str | None = None
    seconds: float = 10.0
    wait: float = 30.0
    media_hosts: tuple[str, ...] | None = None


def add_arguments(phone: argparse.ArgumentParser) -> None:
    add_account_arguments(phone)
    what = phone.add_mutually_exclusive_group(required=True)
    what.add_argument("--call", metavar="URI", help="call this URI (or user) once registered")
    what.add_argument("--answer", action="store_true", help="answer the first incoming call")
    phone.add_argument("--dtmf", default="", metavar="DIGITS", help="send these once answered")
    phone.add_argument("--dtmf-method", choices=("info", "rfc4733"), default="info")
    audio = phone.add_mutually_exclusive_group()
    audio.add_argument("--tone", type=float, metavar="HZ", help="send a sine tone")
    audio.add_argument("--play", metavar="FILE", help="send an audio file (looped)")
    phone.add_argument("--record", metavar="FILE", help="record what the far end sends")
    phone.add_argument("--transfer-to", metavar="URI", help="blind-transfer the far end")
    phone.add_argument("--seconds", type=float, default=10.0, help="call length once answered")
    phone.add_argument(
        "--wait", type=float, default=30.0, help="give up when no call is up after this long"
    )
    phone.add_argument(
        "--media-host",
        action="append",
        metavar="ADDR",
        help="gather ICE candidates only on this address (repeatable; 127.0.0.1 for a lab)",
    )
    phone.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    try:
        params = account_params(args, reconnect_max_attempts=0)
        for digit in args.dtmf:
            check_digit(digit)  # a bad digit is a usage error, found before connecting
    except (TypeError, ValueError) as exc:
        print(f"phone: {exc}", file=sys.stderr)
        return 2
    options = PhoneOptions(
        params=params,
        call=args.call,
        answer=args.answer,
        dtmf=args.dtmf,
        dtmf_method=args.dtmf_method,
        tone=args.tone,
        play=args.play,
        record=args.record,
        transfer_to=args.transfer_to,
        seconds=args.seconds,
        wait=args.wait,
        media_hosts=tuple(args.media_host) if args.media_host else None,
    )
    return trio.run(partial(run_phone, options, sys.stdout))


def _print(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record) + "\n")
    out.flush()


def _configure(account: Account, options: PhoneOptions) -> None:
    defaults = account.call_defaults
    defaults.media_options = MediaOptions(host_addresses=options.media_hosts)
    defaults.dtmf_method = options.dtmf_method
    tone, play, record = options.tone, options.play, options.record

    def source() -> AudioSource | None:
        if play is not None:
            return FileSource(play, loop=True)
        if tone is not None:
            return Tone(tone)
        return None

    def sinks() -> list[AudioSink]:
        return [FileRecorder(record)] if record is not None else []

    defaults.source = source
    defaults.sinks = sinks


async def _in_call(call: Call, options: PhoneOptions, out: TextIO, *, first: bool) -> None:
    """The script once the call is answered: digits, transfer, audio reports, hang-up.

    A call that replaced ours after we were transferred only reports and hangs up.
    """
    for digit in options.dtmf if first else "":
        if call.ended:
            return
        call.send_dtmf(digit)
        await trio.sleep(DTMF_SPACING)
    if first and options.transfer_to and not call.ended:
        call.transfer(options.transfer_to)
    with trio.move_on_after(options.seconds):
        while not call.ended:
            await trio.sleep(1.0)
            reading = call.probe()
            if reading is not None and not call.ended:
                _print(
                    out,
                    {
                        "key": "audio",
                        "call_id": call.id,
                        "level_dbfs": round(reading.level_dbfs, 1),
                        "frequency": None
                        if reading.frequency is None
                        else round(reading.frequency, 1),
                    },
                )
    if not call.ended:
        call.hangup()
    with trio.move_on_after(5):
        await call.wait_ended()


async def run_phone(options: PhoneOptions, out: TextIO) -> int:
    answered = False
    async with open_engine(tune_gc=True) as engine:
        account = await engine.register(options.params)
        _configure(account, options)
        ours: list[Call] = []
        with (
            trio.move_on_after(options.wait) as waiting,
            trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals,
        ):
            async with trio.open_nursery() as nursery:

                async def stop_on_signal() -> None:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()

                async def place(uri: str) -> None:
                    try:
                        ours.append(await account.connect(uri))
                    except CallError as exc:
                        _print(out, {"key": "call_failed", "message": str(exc)})
                        nursery.cancel_scope.cancel()

                nursery.start_soon(stop_on_signal)
                async for event in account.events():
                    _print(out, event.as_dict())
                    key = event.key
                    call_id = getattr(event, "call_id", None)
                    if key in ("unauthorized", "forbidden", "server_not_reachable"):
                        break
                    if key == "connected" and options.call and not ours:
                        nursery.start_soon(place, options.call)
                    elif isinstance(event, CallIncoming) and options.answer and not ours:
                        ours.append(event.call)
                        event.call.accept()
                    elif key == "accepted" and ours and call_id == ours[0].id:
                        answered = True
                        waiting.deadline = float("inf")  # the call's own length rules now
                        nursery.start_soon(
                            partial(_in_call, first=len(ours) == 1), ours[0], options, out
                        )
                    elif key in ("cancel", "hangup") and ours and call_id == ours[0].id:
                        # Transferred: the engine called the target; follow that call.
                        follow = [c for c in account.calls() if c not in ours and not c.ended]
                        if not follow:
                            break
                        ours.insert(0, follow[-1])
                        if follow[-1].answered:
                            nursery.start_soon(
                                partial(_in_call, first=False), follow[-1], options, out
                            )
                nursery.cancel_scope.cancel()
        for call in ours:
            if not call.ended:
                call.hangup()
                with trio.move_on_after(5):
                    await call.wait_ended()
        with trio.move_on_after(10):
            await account.logout()
        async for event in account.events():
            _print(out, event.as_dict())
    return 0 if answered else 1
