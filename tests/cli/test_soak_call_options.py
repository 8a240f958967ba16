"""The call-mix options: both soak commands take them, and they become CallMixSettings."""

from __future__ import annotations

import argparse

import pytest

from kazoo_actors.cli.main import build_parser
from kazoo_actors.cli.soak_call_options import call_mix_settings
from kazoo_actors.soak_calls import CallMixSettings, tone_frequency

SERVER = ["--ws-url", "ws://127.0.0.1:5066", "--realm", "r", "--password", "p"]


def _parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("command", [["soak", *SERVER], ["lab-soak"]])
def test_both_soak_commands_take_the_call_options(command: list[str]) -> None:
    args = _parse(
        *command,
        "--calls-per-second", "50",
        "--call-seconds", "2",
        "--media", "none",
        "--dtmf", "12#",
        "--dtmf-method", "rfc4733",
        "--answer-code", "486",
    )  # fmt: skip
    args.ws_url = "ws://127.0.0.1:5066"  # lab-soak sets it once its Kamailio is up
    settings = call_mix_settings(args)
    assert settings == CallMixSettings(
        calls_per_second=50.0,
        call_seconds=2.0,
        media="none",
        dtmf="12#",
        dtmf_method="rfc4733",
        answer_code=486,
        media_hosts=("127.0.0.1",),
    )


def test_no_rate_means_no_call_mix() -> None:
    assert call_mix_settings(_parse("soak", *SERVER)) is None
    bare = argparse.Namespace(ws_url="ws://127.0.0.1:1", accounts=10)  # the registration soak's
    assert call_mix_settings(bare) is None


def test_media_hosts_default_to_loopback_only_for_a_loopback_server() -> None:
    remote = ["--ws-url", "wss://sip.example.org", "--realm", "r", "--password", "p"]
    far = call_mix_settings(_parse("soak", *remote, "--calls-per-second", "1"))
    assert far is not None and far.media_hosts is None
    chosen = _parse("soak", *remote, "--calls-per-second", "1", "--media-host", "10.0.0.2")
    settings = call_mix_settings(chosen)
    assert settings is not None and settings.media_hosts == ("10.0.0.2",)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--accounts", "1"], "at least 2 accounts"),
        (["--media", "file"], "--media-file"),
        (["--media-file", "x.wav"], "--media-file"),
        (["--dtmf", "1x"], "x"),
        (["--answer-code", "180"], "180"),
        (["--calls-per-second", "0"], "calls_per_second"),
    ],
)
def test_bad_call_options_are_refused(extra: list[str], message: str) -> None:
    args = _parse("soak", *SERVER, "--calls-per-second", "1", *extra)
    with pytest.raises(ValueError, match=message):
        call_mix_settings(args)


def test_each_pair_sends_two_different_tones_the_probe_can_tell_apart() -> None:
    tones = [tone_frequency(i) for i in range(200)]
    assert all(350 <= f <= 2500 for f in tones)
    assert all(abs(tones[i] - tones[i + 1]) >= 50 for i in range(0, 199, 2))
    assert len(set(tones[:44])) == 44
