"""The options that name one account on a server, shared by ``register`` and ``phone``."""

from __future__ import annotations

import argparse
from typing import Any

from kazoo_actors.params import RegisterParams


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ws-url", required=True, help="ws:// or wss:// URL of the server")
    parser.add_argument("--realm", required=True)
    parser.add_argument("--user", required=True, help="user name (or sip:user@realm)")
    parser.add_argument("--password", required=True)
    parser.add_argument("--no-verify-tls", action="store_true", help="for wss:// lab servers")


def account_params(args: argparse.Namespace, **settings: Any) -> RegisterParams:
    """``RegisterParams`` for the account the options name; TypeError/ValueError if invalid."""
    return RegisterParams(
        ws_url=args.ws_url,
        realm=args.realm,
        private_identity=args.user,
        public_identity=args.user,
        password=args.password,
        verify_tls=not args.no_verify_tls,
        **settings,
    )
