"""``kazoo-actors lab up|down``: a local Kamailio (and, with ``--mwi``, a voicemail
notifier) to point the other tools at."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from kazoo_actors.lab.config import MEMORY_MANAGERS, KamailioSettings
from kazoo_actors.lab.detached import (
    LabStateError,
    default_state_path,
    start_detached,
    stop_detached,
)
from kazoo_actors.lab.install import ensure_kamailio
from kazoo_actors.lab.kamailio import KamailioNotInstalled, KamailioStartError
from kazoo_actors.lab.message_summary_body import VoicemailCounts
from kazoo_actors.lab.mwi_notifier_process import MwiNotifierStartError
from kazoo_actors.lab.ports import pick_free_ports


def add_arguments(lab: argparse.ArgumentParser) -> None:
    defaults = KamailioSettings()
    commands = lab.add_subparsers(dest="lab_command", metavar="up|down", required=True)

    up = commands.add_parser("up", help="start a detached Kamailio and print it as JSON")
    up.add_argument("--ws-port", type=int, help="WebSocket port (default: a free one)")
    up.add_argument("--sip-port", type=int, help="UDP and TCP SIP port (default: a free one)")
    up.add_argument("--realm", default=defaults.realm)
    up.add_argument("--password", default=defaults.password)
    up.add_argument("--min-expires", type=int, default=defaults.min_expires)
    up.add_argument("--max-expires", type=int, default=defaults.max_expires)
    up.add_argument("--default-expires", type=int, default=defaults.default_expires)
    up.add_argument("--children", type=int, default=defaults.children)
    up.add_argument("--tcp-children", type=int, default=defaults.tcp_children)
    up.add_argument(
        "--shared-memory-mb",
        type=int,
        default=defaults.shared_memory_mb,
        help="Kamailio's shared memory; each WebSocket takes about 100 KB "
        f"(default {defaults.shared_memory_mb}: some 8,000 connections)",
    )
    up.add_argument(
        "--memory-manager",
        choices=MEMORY_MANAGERS,
        default=defaults.memory_manager,
        help=f"Kamailio's memory allocator (default {defaults.memory_manager})",
    )
    up.add_argument(
        "--mwi",
        action="store_true",
        help="also start a voicemail notifier on a free UDP port of 127.0.0.1 and relay "
        "message-summary SUBSCRIBEs to it (its host:port is mwi_server in the JSON)",
    )
    up.add_argument("--mwi-new", type=int, help="with --mwi: new voice messages in every mailbox")
    up.add_argument("--mwi-old", type=int, help="with --mwi: old voice messages in every mailbox")
    up.add_argument("--state-file", type=Path, default=default_state_path())
    up.set_defaults(handler=_up)

    down = commands.add_parser("down", help="stop the Kamailio (and notifier) `lab up` started")
    down.add_argument("--state-file", type=Path, default=default_state_path())
    down.add_argument("--timeout", type=float, default=5.0, help="seconds before SIGKILL")
    down.set_defaults(handler=_down)


def _up(args: argparse.Namespace) -> int:
    try:
        settings = KamailioSettings(
            realm=args.realm,
            password=args.password,
            min_expires=args.min_expires,
            max_expires=args.max_expires,
            default_expires=args.default_expires,
            children=args.children,
            tcp_children=args.tcp_children,
            shared_memory_mb=args.shared_memory_mb,
            memory_manager=args.memory_manager,
        )
        mwi = _voicemail_counts(args)
        ensure_kamailio()
        sip_port, ws_port = _ports(args)
        state = start_detached(
            settings, state_path=args.state_file, sip_port=sip_port, ws_port=ws_port, mwi=mwi
        )
    except (
        ValueError,
        LabStateError,
        KamailioNotInstalled,
        KamailioStartError,
        MwiNotifierStartError,
        subprocess.CalledProcessError,
    ) as error:
        return _fail(str(error))
    print(state.to_json(), flush=True)
    return 0


def _voicemail_counts(args: argparse.Namespace) -> VoicemailCounts | None:
    """The notifier's mailbox counts with ``--mwi``, else None (and no counts allowed)."""
    if not args.mwi:
        if args.mwi_new is not None or args.mwi_old is not None:
            raise ValueError("--mwi-new and --mwi-old need --mwi")
        return None
    return VoicemailCounts(new=args.mwi_new or 0, old=args.mwi_old or 0)


def _ports(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """Both ports or neither: when only one is given, the other is a free one."""
    if args.ws_port is None and args.sip_port is None:
        return None, None
    fresh = iter(pick_free_ports(2))
    sip_port = args.sip_port if args.sip_port is not None else next(fresh)
    ws_port = args.ws_port if args.ws_port is not None else next(fresh)
    if sip_port == ws_port:
        ws_port = next(fresh)
    return sip_port, ws_port


def _down(args: argparse.Namespace) -> int:
    try:
        state = stop_detached(args.state_file, timeout=args.timeout)
    except LabStateError as error:
        return _fail(str(error))
    if state is None:
        print(f"no lab is up (no {args.state_file})", file=sys.stderr)
        return 0
    print(f"stopped kamailio pid {state.pid} ({state.ws_url})", file=sys.stderr)
    if state.mwi_pid is not None:
        print(f"stopped mwi notifier pid {state.mwi_pid} ({state.mwi_server})", file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"kazoo-actors lab: {message}", file=sys.stderr)
    return 1
