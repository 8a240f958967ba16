"""EventFeed: bounded, keeping fewer events until someone watches."""

from __future__ import annotations

from kazoo_actors import events
from kazoo_actors.event_feed import EventFeed


def _notifications(feed: EventFeed, count: int) -> None:
    for attempt in range(1, count + 1):
        feed.publish(events.notification("reconnecting_notification", attempt=attempt))


async def test_an_unwatched_feed_keeps_only_the_latest_few() -> None:
    feed = EventFeed(limit=256, unwatched_limit=4)
    _notifications(feed, 10)
    assert feed.dropped == 6
    feed.close()
    got = [event async for event in feed.watch()]
    assert [getattr(e, "attempt", None) for e in got] == [7, 8, 9, 10]


async def test_a_watched_feed_keeps_up_to_its_limit() -> None:
    feed = EventFeed(limit=8, unwatched_limit=2)
    iterator = feed.watch()
    _notifications(feed, 10)
    assert feed.dropped == 2
    feed.close()
    got = [event async for event in iterator]
    assert [getattr(e, "attempt", None) for e in got] == list(range(3, 11))
