"""``kazoo-actors phone`` against a real Kamailio: one phone calls, the other answers."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import trio

from kazoo_actors.cli.main import build_parser
from kazoo_actors.cli.phone import PhoneOptions, run_phone
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.params import RegisterParams

pytestmark = pytest.mark.kamailio


def _options(server: KamailioServer, user: str, **changes: Any) -> PhoneOptions:
    params = RegisterParams(
        ws_url=server.ws_url,
        realm=server.realm,
        private_identity=user,
        public_identity=user,
        password=server.password,
        reconnect_max_attempts=0,
        monitor_connectivity=False,
    )
    return PhoneOptions(params=params, media_hosts=("127.0.0.1",), **changes)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _heard(lines: list[dict[str, Any]], frequency: float) -> bool:
    return any(
        line["key"] == "audio"
        and line.get("frequency") is not None
        and abs(line["frequency"] - frequency) < 30
        for line in lines
    )


async def test_two_phones_talk_send_digits_and_hang_up(kamailio: KamailioServer) -> None:
    caller_out, callee_out = io.StringIO(), io.StringIO()
    codes: dict[str, int] = {}

    async def phone(name: str, options: PhoneOptions, out: io.StringIO) -> None:
        codes[name] = await run_phone(options, out)

    with trio.fail_after(40):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                phone,
                "bob",
                _options(kamailio, "bob", answer=True, tone=880.0, dtmf="5", seconds=30),
                callee_out,
            )
            await trio.sleep(0.5)  # bob registers first
            nursery.start_soon(
                phone,
                "alice",
                _options(kamailio, "alice", call="bob", tone=440.0, dtmf="12#", seconds=3),
                caller_out,
            )
    assert codes == {"alice": 0, "bob": 0}
    alice, bob = _lines(caller_out), _lines(callee_out)
    assert alice[0]["key"] == "connected"
    assert "incoming_call" in [line["key"] for line in bob]
    assert _heard(alice, 880.0) and _heard(bob, 440.0)
    assert [line["digit"] for line in bob if line["key"] == "dtmf"] == ["1", "2", "#"]
    assert [line["digit"] for line in alice if line["key"] == "dtmf"] == ["5"]
    # Alice's --seconds ended the call: she hung up, bob saw the BYE.
    assert next(line for line in alice if line["key"] == "hangup")["source"] == "local"
    assert next(line for line in bob if line["key"] == "hangup")["source"] == "remote"
    assert alice[-1]["key"] == "logged_out" and bob[-1]["key"] == "logged_out"


def test_phone_arguments_are_checked() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "phone",
            "--ws-url",
            "ws://127.0.0.1:1/",
            "--realm",
            "r",
            "--user",
            "u",
            "--password",
            "p",
            "--call",
            "bob",
            "--dtmf",
            "1x",
        ]
    )
    assert args.handler(args) == 2
    with pytest.raises(SystemExit):
        parser.parse_args(
            ["phone", "--ws-url", "ws://h/", "--realm", "r", "--user", "u", "--password", "p"]
        )


async def test_phone_transfer_moves_the_caller_to_the_target(kamailio: KamailioServer) -> None:
    outs = {name: io.StringIO() for name in ("alice", "bob", "carol")}
    codes: dict[str, int] = {}

    async def phone(name: str, options: PhoneOptions) -> None:
        codes[name] = await run_phone(options, outs[name])

    with trio.fail_after(50):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                phone, "carol", _options(kamailio, "carol", answer=True, tone=660.0, seconds=3)
            )
            nursery.start_soon(
                phone,
                "bob",
                _options(kamailio, "bob", answer=True, tone=880.0, transfer_to="carol"),
            )
            await trio.sleep(0.5)
            nursery.start_soon(
                phone, "alice", _options(kamailio, "alice", call="bob", tone=440.0, seconds=30)
            )
    assert codes == {"alice": 0, "bob": 0, "carol": 0}
    alice, bob, carol = (_lines(outs[name]) for name in ("alice", "bob", "carol"))
    stages = [line["stage"] for line in bob if line["key"] == "transfer"]
    assert stages[0] == "requested" and stages[-1] == "succeeded"
    assert "accepted" in stages
    # Alice followed the transfer: she hears Carol, Carol hears her.
    assert _heard(alice, 660.0) and _heard(carol, 440.0)
    assert any(line["key"] == "transfer" and line.get("incoming") for line in alice)
    assert carol[-1]["key"] == "logged_out" and alice[-1]["key"] == "logged_out"
