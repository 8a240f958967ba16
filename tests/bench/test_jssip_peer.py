"""The JsSIP peer the benchmarks compare against, run for real against the lab Kamailio.

Small on purpose (20 accounts): it checks that the peer registers, reports wrong credentials,
comes back after a server restart and that its reports parse, not how fast it is.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from bench import kazoo_peer
from kazoo_actors.lab.kamailio import KamailioServer

_UNAVAILABLE = kazoo_peer.unavailable_reason()

needs_peer = pytest.mark.skipif(
    _UNAVAILABLE is not None, reason=f"JsSIP peer cannot run: {_UNAVAILABLE}"
)

ACCOUNTS = 20


@pytest.fixture(scope="module")
def installed_peer() -> None:
    # Installs the pinned npm packages on a fresh checkout (node is known to be present).
    kazoo_peer.ensure_installed()


def config_for(server: KamailioServer, **changes: Any) -> kazoo_peer.PeerConfig:
    config = kazoo_peer.PeerConfig(
        ws_url=server.ws_url,
        realm=server.realm,
        password=server.password,
        count=ACCOUNTS,
        concurrency=5,
        attempt_timeout_s=10.0,
        stop_timeout_s=5.0,
    )
    return dataclasses.replace(config, **changes)


@needs_peer
@pytest.mark.kamailio
@pytest.mark.usefixtures("installed_peer")
def test_peer_registers_holds_and_unregisters(kamailio: KamailioServer) -> None:
    result = kazoo_peer.run_register(config_for(kamailio), hold_s=0.5, timeout_s=30)

    assert (result.registered, result.failed) == (ACCOUNTS, 0)
    assert result.errors == {}
    assert result.registrations_per_s > 0
    assert result.register_cpu_s > 0
    assert 0 < result.register_latency_ms["p50"] <= result.register_latency_ms["p99"]
    assert result.peak_connecting <= 5
    assert result.rss_mb_after > 0
    assert result.rss_kb_per_account is not None
    assert result.idle_cpu_percent is not None
    assert result.lost_registrations == 0
    assert result.jssip_version.startswith("3.13.")
    assert result.raw["stopped"] == ACCOUNTS


@needs_peer
@pytest.mark.kamailio
@pytest.mark.usefixtures("installed_peer")
def test_peer_reports_refused_credentials(kamailio: KamailioServer) -> None:
    config = config_for(kamailio, password="not-" + kamailio.password, count=3)

    result = kazoo_peer.run_register(config, timeout_s=30)

    assert (result.registered, result.failed) == (0, 3)
    assert result.errors == {"Authentication Error": 3}
    assert result.rss_kb_per_account is None


@needs_peer
@pytest.mark.kamailio
@pytest.mark.usefixtures("installed_peer")
def test_peer_registers_again_after_server_restart(kamailio: KamailioServer) -> None:
    with kazoo_peer.RecoveryPeer(config_for(kamailio)) as peer:
        ready = peer.wait_ready(timeout_s=30)
        assert ready.registered == ACCOUNTS

        stopping = time.time()
        kamailio.restart()
        restarted = time.time()
        recovery = peer.wait_all_registered(timeout_s=60)

        assert recovery.lost == ACCOUNTS
        assert len(recovery.reregistered_at) == ACCOUNTS
        assert recovery.all_registered_at >= max(recovery.reregistered_at)
        # The peer may notice the loss only after restart() has returned: what it
        # cannot do is lose the accounts before the stop, or get them all back before the start.
        assert stopping < recovery.first_lost_at
        assert restarted < recovery.all_registered_at
        assert recovery.reconnect_attempts >= ACCOUNTS
        assert 1 <= recovery.peak_connecting <= ACCOUNTS

        stopped = peer.stop()
        assert stopped["registered_now"] == ACCOUNTS
        assert stopped["stopped"] == ACCOUNTS


def test_a_report_missing_a_field_is_a_peer_failure() -> None:
    with pytest.raises(kazoo_peer.PeerFailed, match="unexpected report"):
        kazoo_peer.RegisterResult.from_report({"event": "result", "registered": 3})


def test_config_refuses_a_template_without_the_index() -> None:
    with pytest.raises(ValueError, match="user_template"):
        kazoo_peer.PeerConfig(
            ws_url="ws://127.0.0.1:1", realm="r", password="p", count=1, user_template="jssip"
        )
