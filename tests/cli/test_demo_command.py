"""``kazoo-actors demo`` runs the whole registration exchange in memory."""

from __future__ import annotations

import io

import pytest

from kazoo_actors.cli.demo import run_demo
from kazoo_actors.cli.main import build_parser, main


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256-sess"])
def test_demo_walks_challenge_registration_refresh_and_logout(algorithm: str) -> None:
    args = build_parser().parse_args(["demo", "--seed", "3", "--algorithm", algorithm])
    out = io.StringIO()
    assert run_demo(args, out) == 0
    text = out.getvalue()
    assert text.count("SIP/2.0 401 Unauthorized") == 2  # first contact, then the stale nonce
    assert "stale=true" in text
    assert text.count("Registered(expires=120") == 2
    assert "Unregistered(confirmed=True)" in text
    assert f"algorithm={algorithm}" in text
    assert "demo-password" not in text
    assert text.splitlines()[-1].startswith("# done")


def test_demo_is_a_registered_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "1"]) == 0
    assert "# done" in capsys.readouterr().out
