"""Accounts of one engine borrow each other's nonces, against a real Kamailio."""

from __future__ import annotations

import pytest
import trio
from engine_recorder import Recorder, lab_params

from kazoo_actors.actors.account_state import AccountState
from kazoo_actors.engine import open_engine
from kazoo_actors.lab.kamailio import KamailioServer
from kazoo_actors.shared_challenges import SharedChallenges
from protocols.sip.digest_header import DigestChallenge

pytestmark = pytest.mark.kamailio


async def test_a_second_account_registers_in_one_round_trip(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        first = await engine.register(lab_params(kamailio, "alice", recorder))
        await recorder.wait_for("connected")
        second = await engine.register(lab_params(kamailio, "bob", recorder))
        await recorder.wait_for("connected", count=2)
        assert first.statistics().messages_sent == 2  # REGISTER, 401, REGISTER with credentials
        assert second.statistics().messages_sent == 1  # credentials for alice's nonce at once
        assert second.state is AccountState.REGISTERED
        stats = engine.statistics().challenges
        assert stats is not None and (stats.learned, stats.offered) == (1, 1)
        await second.logout()
        await first.logout()
    assert "unauthorized" not in recorder.keys


async def test_a_nonce_the_server_does_not_know_costs_one_challenge(
    kamailio: KamailioServer,
) -> None:
    shared = SharedChallenges()
    # A nonce Kamailio never issued (as after its restart): it challenges, and the
    # account answers like a first challenge instead of reporting a wrong password.
    unknown = DigestChallenge(
        realm=kamailio.realm,
        nonce="aGVsbG8gd29ybGQ",
        algorithm="MD5",
        qop=("auth",),
        opaque=None,
        stale=False,
        proxy=False,
    )
    shared.learn(kamailio.ws_url, unknown, trio.current_time())
    recorder = Recorder()
    async with open_engine(share_challenges=shared) as engine:
        account = await engine.register(lab_params(kamailio, "carol", recorder))
        await recorder.wait_for("connected")
        assert account.statistics().messages_sent == 2
        # carol's fresh nonce replaced the unknown one for whoever comes next.
        dave = await engine.register(lab_params(kamailio, "dave", recorder))
        await recorder.wait_for("connected", count=2)
        assert dave.statistics().messages_sent == 1
    assert recorder.keys == ["connected", "connected"]


async def test_a_wrong_password_with_a_borrowed_nonce_is_still_unauthorized(
    kamailio: KamailioServer,
) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        await engine.register(lab_params(kamailio, "erin"))
        with trio.fail_after(10):
            while engine.statistics().challenges.learned == 0:  # type: ignore[union-attr]
                await trio.sleep(0.05)
        account = await engine.register(lab_params(kamailio, "frank", recorder, password="nope"))
        await recorder.wait_for("unauthorized")
        await trio.sleep(3)  # longer than the first reconnect delay: no retry loop
        assert recorder.keys == ["unauthorized"]
        assert account.state is AccountState.DOWN
        # Borrowed credentials, challenged; our own, refused: two REGISTERs, as without sharing.
        assert account.statistics().messages_sent == 2


async def test_sharing_can_be_turned_off(kamailio: KamailioServer) -> None:
    recorder = Recorder()
    async with open_engine(share_challenges=False) as engine:
        await engine.register(lab_params(kamailio, "gina", recorder))
        await recorder.wait_for("connected")
        second = await engine.register(lab_params(kamailio, "hank", recorder))
        await recorder.wait_for("connected", count=2)
        assert second.statistics().messages_sent == 2
        assert engine.statistics().challenges is None


async def test_a_forbidden_user_with_a_borrowed_nonce_is_forbidden_and_sharing_goes_on(
    kamailio: KamailioServer,
) -> None:
    recorder = Recorder()
    async with open_engine() as engine:
        await engine.register(lab_params(kamailio, "ivan", recorder))
        await recorder.wait_for("connected")
        # The lab answers 403 to any REGISTER of a "forbidden..." user, before auth.
        account = await engine.register(lab_params(kamailio, "forbidden-jo", recorder))
        await recorder.wait_for("forbidden")
        assert account.state is AccountState.DOWN
        # Borrowed credentials forbidden, then again without them: the user's verdict.
        assert account.statistics().messages_sent == 2
        stats = engine.statistics().challenges
        assert stats is not None and stats.refusing_servers == 0
        kim = await engine.register(lab_params(kamailio, "kim", recorder))
        await recorder.wait_for("connected", count=2)
        assert kim.statistics().messages_sent == 1
