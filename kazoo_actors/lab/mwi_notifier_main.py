"""Run the lab's voicemail notifier in the foreground, for a lab started by hand.

    python -m kazoo_actors.lab.mwi_notifier_main [--port P] [--new N] [--old N]

prints ``{"mwi_server": "127.0.0.1:P"}`` (the value for ``KamailioSettings.mwi_server``)
and then one JSON line per SUBSCRIBE it answers, until Ctrl-C or ``--seconds`` pass.
Start it before the Kamailio that relays to it.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from collections.abc import Sequence

import trio

from kazoo_actors.lab.message_summary_body import VoicemailCounts
from kazoo_actors.lab.mwi_notifier import DEFAULT_MAX_EXPIRES, MwiNotifier, open_mwi_notifier
from kazoo_actors.lab.ports import LOOPBACK
from protocols.sip import SipRequest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kazoo_actors.lab.mwi_notifier_main")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="UDP port (default: a free one)")
    parser.add_argument("--new", type=int, default=0, help="new voice messages in every mailbox")
    parser.add_argument("--old", type=int, default=0, help="old voice messages in every mailbox")
    parser.add_argument("--max-expires", type=int, default=DEFAULT_MAX_EXPIRES)
    parser.add_argument("--seconds", type=float, default=math.inf, help="stop after this long")
    return parser


async def _report_subscribes(notifier: MwiNotifier) -> None:
    """One JSON line per SUBSCRIBE, so a person watching the lab sees who asked."""
    shown = 0
    while True:
        await notifier.wait_for(functools.partial(_more_than, notifier, shown))
        subscribes = notifier.requests("SUBSCRIBE")
        for request in subscribes[shown:]:
            _print_line(_describe(request))
        shown = len(subscribes)


def _more_than(notifier: MwiNotifier, shown: int) -> bool:
    return len(notifier.requests("SUBSCRIBE")) > shown


def _describe(request: SipRequest) -> dict[str, object]:
    return {
        "method": request.method,
        "user": request.to_address.uri.user,
        "call_id": request.headers.get("Call-ID"),
        "expires": request.expires,
        "in_dialog": "tag" in request.to_address.parameters,
    }


def _print_line(value: dict[str, object]) -> None:
    print(json.dumps(value), flush=True)


async def _run(args: argparse.Namespace) -> None:
    counts = VoicemailCounts(new=args.new, old=args.old)
    async with open_mwi_notifier(
        host=args.host, port=args.port, counts=counts, max_expires=args.max_expires
    ) as notifier:
        _print_line({"mwi_server": notifier.server})
        with trio.move_on_after(args.seconds):
            await _report_subscribes(notifier)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        trio.run(_run, args)
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as error:
        print(f"mwi notifier: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
