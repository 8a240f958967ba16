"""``kazoo-actors soak``: register N accounts, hold them, log them all out, report.

Registration phase: every account is started at once; the engine lets at
most ``--concurrency`` connection attempts be in flight. Latency is counted
from the moment an attempt gets its slot to the 200 OK (as the JsSIP peer
counts from ``UA.start``), not the time spent queueing for a slot. The phase ends when
every account registered or gave up (or after ``--register-timeout``). Then
the accounts are held for ``--duration`` seconds (refreshes and keep-alives
run), and logged out. Exit status 1 when any account failed to register or
lost its registration without being told to.

With ``--calls-per-second`` the accounts also call each other while they are
held (``kazoo_actors.soak_calls``), the report gets a ``calls`` part, and failed
calls make the exit status 1 too.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import trio

from kazoo_actors.account import Account
from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.cli.soak_call_options import add_call_arguments, call_mix_settings
from kazoo_actors.engine import open_engine
from kazoo_actors.events import AccountEvent
from kazoo_actors.lab.config import KamailioSettings, shared_memory_for
from kazoo_actors.lab.install import ensure_kamailio
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.params import RegisterParams
from kazoo_actors.soak_call_tally import CallTally
from kazoo_actors.soak_calls import CallMix
from kazoo_actors.soak_report import SoakRecorder

PROGRESS_EVERY = 0.5


def add_arguments(soak: argparse.ArgumentParser) -> None:
    add_soak_arguments(soak, server_required=True)
    soak.set_defaults(handler=main)


def add_lab_soak_arguments(lab_soak: argparse.ArgumentParser) -> None:
    add_soak_arguments(lab_soak, server_required=False)
    lab_soak.set_defaults(handler=lab_main)


def lab_main(args: argparse.Namespace) -> int:
    """``soak`` against a Kamailio started (and installed, as root, if missing) for the run."""
    ensure_kamailio()
    settings = KamailioSettings(shared_memory_mb=shared_memory_for(args.accounts))
    with KamailioServer(settings) as server:
        print(f"lab Kamailio at {server.ws_url} (realm {server.realm})", file=sys.stderr)
        args.ws_url, args.realm, args.password = server.ws_url, server.realm, server.password
        return main(args)


def add_soak_arguments(parser: argparse.ArgumentParser, *, server_required: bool) -> None:
    if server_required:
        parser.add_argument("--ws-url", required=True, help="ws:// or wss:// URL of the server")
        parser.add_argument("--realm", required=True)
        parser.add_argument("--password", required=True)
    parser.add_argument("--accounts", type=int, default=200, help="how many accounts (N)")
    parser.add_argument(
        "--user-template", default="user{i}", help="user name pattern, {i} = 0..N-1"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to hold them")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="connection attempts in flight at most"
    )
    parser.add_argument(
        "--expires", type=int, default=600, help="REGISTER expiry in seconds (refresh before)"
    )
    parser.add_argument(
        "--register-timeout", type=float, default=120.0, help="seconds to get all registered"
    )
    parser.add_argument("--report", type=Path, help="write the JSON report to this file")
    parser.add_argument("--no-verify-tls", action="store_true", help="for wss:// lab servers")
    add_call_arguments(parser)


def main(args: argparse.Namespace) -> int:
    if args.accounts < 1 or args.concurrency < 1 or args.duration < 0:
        print("soak: --accounts and --concurrency must be >= 1, --duration >= 0", file=sys.stderr)
        return 2
    try:
        call_mix_settings(args)
    except (TypeError, ValueError) as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    report = trio.run(partial(run_soak, args, progress=sys.stderr))
    text = json.dumps(report, indent=2)
    if args.report is not None:
        args.report.write_text(text + "\n")
    print(text)
    calls_failed = report.get("calls", {}).get("failed")
    return 1 if report["failed"] or report["lost_registrations"] or calls_failed else 0


async def run_soak(args: argparse.Namespace, *, progress: TextIO | None = None) -> dict[str, Any]:
    recorder = SoakRecorder(args.accounts)
    live = progress is not None and progress.isatty()
    mix_settings = call_mix_settings(args)
    mix = CallMix(mix_settings) if mix_settings is not None else None
    async with open_engine(max_connecting=args.concurrency, tune_gc=True) as engine:
        accounts: list[Account] = []

        def on_event(index: int, event: AccountEvent) -> None:
            latency = None
            if event.key == "connected":
                started = accounts[index].statistics().attempt_started_at
                latency = trio.current_time() - started
            recorder.event(index, event, latency)

        for index in range(args.accounts):
            callback = partial(on_event, index)
            user = args.user_template.format(i=index)
            extra = mix.register_changes(index, user) if mix is not None else {}
            params = RegisterParams(
                ws_url=args.ws_url,
                realm=args.realm,
                private_identity=user,
                public_identity=user,
                password=args.password,
                expires=args.expires,
                verify_tls=not args.no_verify_tls,
                monitor_connectivity=False,
                on_connected=callback,
                on_error=callback,
                on_notified=callback,
                **extra,
            )
            recorder.register_started(index)
            accounts.append(await engine.register(params))
            if mix is not None:
                mix.configure(index, accounts[-1])

        with trio.move_on_after(args.register_timeout):
            while not _settled(accounts, recorder):
                _show(progress, live, recorder, "registering")
                await trio.sleep(PROGRESS_EVERY)
        ever = [recorder.first_registered[i] for i in range(args.accounts)]

        calls = mix.tally if mix is not None else None
        async with trio.open_nursery() as holding:
            if mix is not None:
                holding.start_soon(mix.run, accounts, args.duration)
            with trio.move_on_after(args.duration):
                while True:
                    _show(progress, live, recorder, "holding", calls)
                    await trio.sleep(PROGRESS_EVERY)
            while mix is not None and mix.running:
                _show(progress, live, recorder, "ending calls", calls)
                await trio.sleep(PROGRESS_EVERY)
        lost = sum(
            1
            for index, account in enumerate(accounts)
            if ever[index] and account.state is not AccountState.REGISTERED
        )
        _show(progress, live, recorder, "logging out", calls)
        await _logout_all(accounts, args.concurrency)
        if live and progress is not None:
            progress.write("\n")
    report = recorder.report(lost_registrations=lost)
    if mix is not None:
        report["calls"] = mix.tally.report()
    return report


def _settled(accounts: list[Account], recorder: SoakRecorder) -> bool:
    if recorder.registered >= len(accounts):
        return True
    return all(
        recorder.first_registered[i] or a.state is AccountState.DOWN for i, a in enumerate(accounts)
    )


async def _logout_all(accounts: list[Account], concurrency: int) -> None:
    """A few workers, not a task per account: the peak RSS is part of the report."""
    pending = iter(accounts)

    async def worker() -> None:
        for account in pending:
            await account.logout()

    async with trio.open_nursery() as nursery:
        for _ in range(min(len(accounts), concurrency * 4)):
            nursery.start_soon(worker)


def _show(
    progress: TextIO | None,
    live: bool,
    recorder: SoakRecorder,
    phase: str,
    calls: CallTally | None = None,
) -> None:
    rss = recorder.sample()
    if not live or progress is None:
        return
    errors = sum(recorder.errors.values())
    progress.write(
        f"\r{phase:<12} registered {recorder.registered}/{recorder.accounts}  "
        f"errors {errors}  reconnects {recorder.reconnects}  rss {rss / 1e6:.0f} MB  "
        f"{calls.progress() if calls is not None else ''}   "
    )
    progress.flush()
