"""The engine registers --count accounts against a SIP server, then logs them all out, on a
frozen Trio clock: a child of bench/engine_instructions.py, run under callgrind.

With the clock frozen no keep-alive, refresh, reconnect delay or shared-nonce expiry ever
fires, so the instructions counted are the same however slowly valgrind runs. Run it with
PYTHONPATH pointing at the tree to measure. Prints one JSON line: connected, errors (any
other error or notification key), shared_nonces_offered; exits 1 unless every account
connected. The caller bounds it in time (a frozen clock cannot time out by itself).
"""

from __future__ import annotations

import argparse
import json
import sys

import trio
import trio.testing

from kazoo_actors.engine import open_engine
from kazoo_actors.events import AccountEvent
from kazoo_actors.params import RegisterParams

LOGOUT_WORKERS = 200


async def run(args: argparse.Namespace) -> dict[str, int]:
    everyone_heard_from = trio.Event()
    tally = {"connected": 0, "errors": 0}

    def on_event(event: AccountEvent) -> None:
        if event.key == "connected":
            tally["connected"] += 1
        elif event.key != "reconnecting_notification":
            tally["errors"] += 1
        # A failed account never connects, and a frozen clock never times out: stop
        # waiting once every account connected or failed (the run then exits 1).
        if tally["connected"] + tally["errors"] >= args.count:
            everyone_heard_from.set()

    async with open_engine(
        max_connecting=args.concurrency, monitor_connectivity=False, tune_gc=True
    ) as engine:
        accounts = []
        for index in range(args.count):
            user = f"kazoo{args.first + index}"
            params = RegisterParams(
                ws_url=args.ws_url,
                realm=args.realm,
                private_identity=user,
                public_identity=user,
                password=args.password,
                monitor_connectivity=False,
                on_connected=on_event,
                on_error=on_event,
                on_notified=on_event,
            )
            accounts.append(await engine.register(params))
        await everyone_heard_from.wait()
        pending = iter(accounts)

        async def log_out() -> None:
            for account in pending:
                await account.logout()

        async with trio.open_nursery() as nursery:
            for _ in range(min(LOGOUT_WORKERS, args.count)):
                nursery.start_soon(log_out)
        challenges = engine.statistics().challenges
        offered = challenges.offered if challenges is not None else 0
    return {**tally, "shared_nonces_offered": offered}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--realm", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    report = trio.run(run, args, clock=trio.testing.MockClock(rate=0))
    print(json.dumps(report), flush=True)
    return 0 if report["connected"] == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
