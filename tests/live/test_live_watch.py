"""The follower of a channel (bff.live.watch.follow) outlives a failed re-read."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bff.domain.model import SessionStatus as S
from bff.live import watch
from bff.live.codec import Snapshot, encode_snapshot
from bff.live.subscription import Event, Subscription
from tests.live.support import session


async def test_a_redis_error_while_re_reading_does_not_end_the_follower(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One failed read after RESYNC (Redis blipped) is retried: the follower — which a
    shared feed runs for every socket that asked the same — keeps going and then sends
    both the re-read state and the next live one."""
    monkeypatch.setattr(watch, "RETRY_INITIAL_SECONDS", 0.001)
    sub = Subscription(("ch",), 8)
    reads = 0
    stored = Snapshot(session(S.CHARGING, 10, wh=100), 3, "d1", 1.0)

    async def read() -> list[Snapshot]:
        nonlocal reads
        reads += 1
        if reads == 1:
            return []  # the first read: nothing stored yet
        if reads == 2:
            raise RedisConnectionError("Redis went away for a moment")
        return [stored]

    updates = watch.follow(sub, read, since=None)
    try:
        sub.resync()
        async with asyncio.timeout(5):
            first = await anext(updates)
        assert reads == 3 and first.session.energy is not None
        assert first.session.energy.watt_hours == 100
        newer = Snapshot(session(S.CHARGING, 20, wh=200), 4, "d1", 2.0)
        sub.put("PLUGSURFING:s1", Event("ch", encode_snapshot(newer)))
        async with asyncio.timeout(5):
            second = await anext(updates)
        assert second.session.energy is not None and second.session.energy.watt_hours == 200
    finally:
        await updates.aclose()


async def test_a_closed_subscription_stops_the_retries() -> None:
    sub = Subscription(("ch",), 8)

    reads = 0

    async def read() -> list[Snapshot]:
        nonlocal reads
        reads += 1
        if reads == 1:
            return []
        sub.close()
        raise RedisConnectionError("down")

    updates = watch.follow(sub, read, since=None)
    sub.resync()
    async with asyncio.timeout(5):
        rest = [s async for s in updates]
    assert rest == []
