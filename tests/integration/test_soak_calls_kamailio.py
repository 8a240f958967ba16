"""The soak's call mix against a real Kamailio: signalling-only, tones with DTMF, rejections."""

from __future__ import annotations

import json
import math
import wave
from pathlib import Path
from typing import Any

import pytest

from kazoo_actors.cli.main import main as cli_main
from kazoo_actors.lab.kamailio import KamailioServer

pytestmark = pytest.mark.kamailio


def _soak(server: KamailioServer, report: Path, *options: str) -> tuple[int, dict[str, Any]]:
    argv = [
        "soak",
        "--ws-url", server.ws_url,
        "--realm", server.realm,
        "--password", server.password,
        "--user-template", "mix{i}",
        "--report", str(report),
        *options,
    ]  # fmt: skip
    code = cli_main(argv)
    return code, json.loads(report.read_text())


def _calls(report: dict[str, Any]) -> dict[str, Any]:
    calls = report["calls"]
    assert isinstance(calls, dict)
    return calls


def test_signalling_only_calls_are_all_answered(
    kamailio: KamailioServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _soak(
        kamailio,
        tmp_path / "none.json",
        "--accounts", "6",
        "--duration", "2",
        "--calls-per-second", "10",
        "--call-seconds", "0.5",
        "--media", "none",
    )  # fmt: skip
    calls = _calls(report)
    assert code == 0
    assert report["registered"] == 6 and report["failed"] == 0
    assert 15 <= calls["attempted"] <= 21  # 10/s for 2 s, the first at once
    assert calls["answered"] == calls["attempted"]
    assert (calls["failed"], calls["failures"], calls["skipped"]) == (0, {}, 0)
    assert calls["media_ok"] is None and calls["dtmf_ok"] is None
    setup = calls["setup_ms"]
    assert 0 < setup["p50"] <= setup["p95"] < 2000
    assert json.loads(capsys.readouterr().out) == report


def test_tone_calls_hear_each_other_and_get_the_digits(
    kamailio: KamailioServer, tmp_path: Path
) -> None:
    code, report = _soak(
        kamailio,
        tmp_path / "tone.json",
        "--accounts", "4",
        "--duration", "2",
        "--calls-per-second", "2",
        "--call-seconds", "1.5",
        "--media", "tone",
        "--dtmf", "12#",
    )  # fmt: skip
    calls = _calls(report)
    assert code == 0
    assert calls["attempted"] >= 4
    assert calls["answered"] == calls["attempted"]
    assert calls["media_ok"] == calls["answered"]
    assert calls["dtmf_ok"] == calls["answered"]
    assert calls["failed"] == 0


def test_rfc4733_digits_arrive_in_the_media(kamailio: KamailioServer, tmp_path: Path) -> None:
    code, report = _soak(
        kamailio,
        tmp_path / "rfc4733.json",
        "--accounts", "2",
        "--duration", "1",
        "--calls-per-second", "2",
        "--call-seconds", "1.5",
        "--media", "tone",
        "--dtmf", "4*",
        "--dtmf-method", "rfc4733",
    )  # fmt: skip
    calls = _calls(report)
    assert code == 0
    assert calls["answered"] == calls["attempted"] >= 2
    assert calls["dtmf_ok"] == calls["media_ok"] == calls["answered"]


def _write_tone_wav(path: Path, frequency: float, seconds: float) -> None:
    rate = 16_000
    samples = (
        round(12_000 * math.sin(2 * math.pi * frequency * i / rate))
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))


def test_file_calls_are_heard(kamailio: KamailioServer, tmp_path: Path) -> None:
    sound = tmp_path / "sound.wav"
    _write_tone_wav(sound, 700.0, 0.4)  # shorter than a call: it loops
    code, report = _soak(
        kamailio,
        tmp_path / "file.json",
        "--accounts", "2",
        "--duration", "1",
        "--calls-per-second", "2",
        "--call-seconds", "1.2",
        "--media", "file",
        "--media-file", str(sound),
    )  # fmt: skip
    calls = _calls(report)
    assert code == 0
    assert calls["answered"] == calls["attempted"] >= 2
    assert calls["media_ok"] == calls["answered"] and calls["dtmf_ok"] is None


def test_rejected_calls_are_failures_by_reason_and_exit_one(
    kamailio: KamailioServer, tmp_path: Path
) -> None:
    code, report = _soak(
        kamailio,
        tmp_path / "busy.json",
        "--accounts", "4",
        "--duration", "1",
        "--calls-per-second", "4",
        "--media", "none",
        "--answer-code", "486",
    )  # fmt: skip
    calls = _calls(report)
    assert code == 1
    assert report["failed"] == 0 and report["lost_registrations"] == 0  # only the calls failed
    assert calls["attempted"] >= 4 and calls["answered"] == 0
    assert calls["failures"] == {"486 Busy Here": calls["attempted"]}
    assert calls["failed"] == calls["attempted"]


def test_an_odd_last_account_only_registers(kamailio: KamailioServer, tmp_path: Path) -> None:
    """Three accounts: 0 calls 1, and 2 has no partner (calling past the end would fail)."""
    code, report = _soak(
        kamailio,
        tmp_path / "three.json",
        "--accounts", "3",
        "--duration", "1",
        "--calls-per-second", "3",
        "--call-seconds", "0.3",
        "--media", "none",
    )  # fmt: skip
    calls = _calls(report)
    assert code == 0 and calls["answered"] == calls["attempted"] >= 3


def test_call_options_are_checked_before_registering(
    kamailio: KamailioServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "soak",
        "--ws-url", kamailio.ws_url,
        "--realm", kamailio.realm,
        "--password", kamailio.password,
        "--calls-per-second", "1",
    ]  # fmt: skip
    assert cli_main([*base, "--accounts", "1"]) == 2
    assert cli_main([*base, "--media", "file"]) == 2
    assert cli_main([*base, "--media", "file", "--media-file", str(tmp_path / "none.wav")]) == 2
    assert cli_main([*base, "--dtmf", "12x"]) == 2
    assert cli_main([*base, "--answer-code", "180"]) == 2
    errors = capsys.readouterr().err
    assert "at least 2 accounts" in errors and "--media-file" in errors
