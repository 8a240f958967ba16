"""The mailbox takes every item, merges it into the pending ones through its owner's rule,
and wakes its owner for each."""

from __future__ import annotations

import trio
import trio.testing

from kazoo_actors.actors.mailbox import Mailbox


def test_without_a_merge_every_item_is_kept_in_order() -> None:
    mailbox: Mailbox[int] = Mailbox()
    for item in range(1000):
        mailbox.put_nowait(item)  # no limit: nothing is refused
    assert len(mailbox) == 1000
    assert mailbox.take_all() == list(range(1000))
    assert not mailbox and mailbox.take_all() == []


def test_the_merge_sees_only_a_mailbox_already_holding_items() -> None:
    calls: list[tuple[list[str], str]] = []

    def keep_latest(pending: list[str], item: str) -> None:
        calls.append((list(pending), item))
        pending[:] = [item]

    mailbox: Mailbox[str] = Mailbox(keep_latest)
    mailbox.put_nowait("first")
    assert calls == []  # an empty mailbox just takes it: no call, no scan
    mailbox.put_nowait("second")
    mailbox.put_nowait("third")
    assert calls == [(["first"], "second"), (["second"], "third")]
    assert mailbox.take_all() == ["third"]
    mailbox.put_nowait("after")
    assert len(calls) == 2 and mailbox.take_all() == ["after"]


async def test_an_item_merged_away_still_leaves_the_owner_awake() -> None:
    def drop_new(pending: list[str], item: str) -> None:
        pass

    mailbox: Mailbox[str] = Mailbox(drop_new)
    mailbox.put_nowait("kept")
    mailbox.put_nowait("dropped")
    with trio.testing.assert_checkpoints(), mailbox.interruptible(float("inf")) as scope:
        await trio.sleep_forever()  # cancelled at once: an item is pending
    assert scope.cancelled_caught
    assert mailbox.take_all() == ["kept"]
