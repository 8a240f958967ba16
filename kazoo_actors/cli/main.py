"""The ``kazoo-actors`` command: one entry point, a sub-command per tool."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from kazoo_actors import __version__
from kazoo_actors.cli import demo, lab, phone, register, soak

# Each sub-command module exposes add_parser(subparsers) and sets a handler default.
COMMAND_MODULES = (lab, demo, register, soak, phone)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kazoo-actors",
        description="A programmable SIP softphone engine: register, call, soak-test.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stdout)
        return 0
    return handler(args)
