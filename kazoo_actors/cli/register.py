"""``kazoo-actors register``: one account, every event printed as a JSON line.

Runs until ``--seconds`` pass (forever without it), Ctrl-C or SIGTERM, then
logs out cleanly (REGISTER with Expires: 0) before exiting. Exit status 0 when
the account was registered at some point and logged out, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from functools import partial
from typing import TextIO

import trio

from kazoo_actors.cli.account_arguments import account_params, add_account_arguments
from kazoo_actors.engine import open_engine
from kazoo_actors.events import AccountEvent
from kazoo_actors.params import RegisterParams


def add_arguments(register: argparse.ArgumentParser) -> None:
    add_account_arguments(register)
    register.add_argument("--seconds", type=float, help="stay registered this long, then log out")
    register.add_argument("--expires", type=int, default=600)
    register.add_argument("--reconnect-max-attempts", type=int, default=-1)
    register.add_argument("--reconnect-delay", type=int, default=5000, help="milliseconds")
    register.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    try:
        params = account_params(
            args,
            expires=args.expires,
            reconnect_max_attempts=args.reconnect_max_attempts,
            reconnect_delay=args.reconnect_delay,
        )
    except (TypeError, ValueError) as exc:
        print(f"register: {exc}", file=sys.stderr)
        return 2
    seconds = math.inf if args.seconds is None else args.seconds
    return trio.run(partial(run_register, params, seconds, sys.stdout))


def _print(out: TextIO, event: AccountEvent) -> None:
    out.write(json.dumps(event.as_dict()) + "\n")
    out.flush()


async def run_register(params: RegisterParams, seconds: float, out: TextIO) -> int:
    async with open_engine(tune_gc=True) as engine:
        account = await engine.register(params)
        registered = False
        with (
            trio.move_on_after(seconds),
            trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals,
        ):
            async with trio.open_nursery() as nursery:

                async def stop_on_signal() -> None:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()

                nursery.start_soon(stop_on_signal)
                async for event in account.events():
                    _print(out, event)
                    registered = registered or event.key == "connected"
                nursery.cancel_scope.cancel()  # the account ended on its own
        with trio.move_on_after(10):
            await account.logout()
        async for event in account.events():
            _print(out, event)
    return 0 if registered else 1
