"""The ``kazoo-actors`` command: one entry point, a sub-command per tool.

Sub-commands are listed here by name and help text; the module implementing one is
imported only when it is chosen (see ``lazy_parser``), so ``--help`` and ``lab up`` do not
load the engine, aiortc and av.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from kazoo_actors import __version__
from kazoo_actors.cli.lazy_parser import LazyCommandParser

Handler = Callable[[argparse.Namespace], int]


class SubCommand(NamedTuple):
    name: str
    help: str
    # "module:function"; the function adds the arguments and sets a ``handler`` default.
    configure: str


COMMANDS = (
    SubCommand(
        "lab",
        "start or stop a local Kamailio on 127.0.0.1",
        "kazoo_actors.cli.lab:add_arguments",
    ),
    SubCommand(
        "demo",
        "walk the SIP registration through an in-memory exchange (no network)",
        "kazoo_actors.cli.demo:add_arguments",
    ),
    SubCommand(
        "register",
        "register one account and print its events as JSON lines",
        "kazoo_actors.cli.register:add_arguments",
    ),
    SubCommand(
        "soak",
        "register many accounts over WebSocket, hold them, report as JSON",
        "kazoo_actors.cli.soak:add_arguments",
    ),
    SubCommand(
        "lab-soak",
        "start a local lab Kamailio, soak it (default 200 accounts for 10 s), stop it",
        "kazoo_actors.cli.soak:add_lab_soak_arguments",
    ),
    SubCommand(
        "phone",
        "place or answer one call and print its events as JSON lines",
        "kazoo_actors.cli.phone:add_arguments",
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kazoo-actors",
        description="A programmable SIP softphone engine: register, call, soak-test.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=LazyCommandParser
    )
    for command in COMMANDS:
        subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            configure=command.configure,
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stdout)
        return 0
    return handler(args)
