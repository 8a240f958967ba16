"""The call-mix options of ``soak`` and ``lab-soak`` (issue 4), and the settings they make.

No ``--calls-per-second``: no call mix, and the soak (and its report) is the
registration soak alone.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from kazoo_actors.soak_calls import CallMixSettings, DtmfMethod, MediaKind
from media.sources import FileSource

LOOPBACK = ("127.0.0.1",)


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    calls = parser.add_argument_group(
        "call mix", "accounts 2k call 2k+1 through the server while the accounts are held"
    )
    calls.add_argument(
        "--calls-per-second",
        type=float,
        metavar="X",
        help="start X calls a second (none: no calls)",
    )
    calls.add_argument(
        "--call-seconds", type=float, default=3.0, metavar="T", help="each answered call lasts T s"
    )
    calls.add_argument(
        "--media",
        choices=("tone", "file", "none"),
        default="tone",
        help="each account sends its own tone, a file, or nothing (inactive SDP, no media stack)",
    )
    calls.add_argument("--media-file", metavar="PATH", help="the audio file for --media file")
    calls.add_argument(
        "--dtmf", default="", metavar="DIGITS", help="the caller sends these once the call is up"
    )
    calls.add_argument(
        "--dtmf-method",
        choices=("info", "rfc4733"),
        default="info",
        help="SIP INFO, or RFC 4733 events in the media (INFO for --media none)",
    )
    calls.add_argument(
        "--answer-code",
        type=int,
        default=200,
        metavar="CODE",
        help="callees answer 200, or reject every call with this 3xx-6xx code",
    )
    calls.add_argument(
        "--answer-timeout", type=float, default=10.0, help="seconds a caller waits for the answer"
    )
    calls.add_argument(
        "--media-host",
        action="append",
        metavar="ADDR",
        help="gather ICE candidates only on this address (repeatable; "
        "default 127.0.0.1 when the server is on loopback)",
    )


def call_mix_settings(args: argparse.Namespace) -> CallMixSettings | None:
    """The call mix the arguments ask for; ValueError with a usage message when it is wrong.

    Reads the arguments with defaults, so a Namespace built for the registration soak
    alone (as programs and tests do) means "no calls".
    """
    rate = getattr(args, "calls_per_second", None)
    if rate is None:
        return None
    media: MediaKind = getattr(args, "media", "tone")
    media_file = getattr(args, "media_file", None)
    dtmf_method: DtmfMethod = getattr(args, "dtmf_method", "info")
    settings = CallMixSettings(
        calls_per_second=rate,
        call_seconds=getattr(args, "call_seconds", 3.0),
        media=media,
        media_file=media_file,
        dtmf=getattr(args, "dtmf", ""),
        dtmf_method=dtmf_method,
        answer_code=getattr(args, "answer_code", 200),
        answer_timeout=getattr(args, "answer_timeout", 10.0),
        media_hosts=_media_hosts(args),
    )
    if media_file is not None:
        FileSource(media_file).close()  # a bad file is a usage error, found before registering
    if args.accounts < 2:
        raise ValueError("a call mix needs at least 2 accounts (2k calls 2k+1)")
    return settings


def _media_hosts(args: argparse.Namespace) -> tuple[str, ...] | None:
    hosts: Any = getattr(args, "media_host", None)
    if hosts:
        return tuple(hosts)
    return LOOPBACK if _is_loopback(urlsplit(args.ws_url).hostname or "") else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
