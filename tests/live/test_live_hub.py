"""The hub: refresh/record/driver actions and the two watches, with a real Redis."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bff.domain.model import ChargingSession, Energy, Provider
from bff.domain.model import SessionStatus as S
from bff.live.broker import RedisBroker
from bff.live.codec import Snapshot, message_key
from bff.live.hub import LiveHub
from bff.settings import Settings
from bff.store.records import SessionRecord, SessionRecords
from tests.live.conftest import LIVE_REDIS_URL
from tests.live.support import FakeAdapter, at, session, wait_for
from tests.redis_server import RedisServer as RedisProcess

P = Provider.PLUGSURFING


def live_settings(**kw: object) -> Settings:
    return Settings(redis_url=LIVE_REDIS_URL, poll_interval_seconds=60, **kw)  # type: ignore[arg-type]


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter(P)


@pytest.fixture
async def hub(rds: Redis, adapter: FakeAdapter) -> AsyncIterator[LiveHub]:
    h = LiveHub(live_settings(), rds, SessionRecords(rds), {P: adapter})
    await h.start()
    yield h
    await h.aclose()


async def next_of(updates: AsyncIterator[Snapshot], within: float = 5) -> ChargingSession:
    async with asyncio.timeout(within):
        return (await anext(updates)).session


async def test_watch_sends_the_snapshot_then_only_newer_states(hub: LiveHub) -> None:
    await hub.record(session(S.CHARGING, 10, wh=100), "d1")
    async with hub.watch_session(P, "s1") as updates:
        assert (await next_of(updates)).energy == Energy(100)
        await hub.record(session(S.CHARGING, 5, wh=50), "d1")  # older: not sent
        await hub.record(session(S.CHARGING, 10, wh=100), "d1")  # duplicate: not sent
        await hub.record(session(S.CHARGING, 20, wh=200), "d1")
        assert (await next_of(updates)).energy == Energy(200)
        await hub.record(session(S.COMPLETED, 30, wh=300), "d1")
        assert (await next_of(updates)).status is S.COMPLETED


async def test_watch_of_an_unknown_session_waits_for_the_first_state(hub: LiveHub) -> None:
    async with hub.watch_session(P, "later") as updates:
        pending = asyncio.ensure_future(next_of(updates))
        await asyncio.sleep(0)
        assert not pending.done()
        await hub.record(session(S.STARTING, 0, id="later"), "d1")
        assert (await pending).status is S.STARTING


async def test_racing_watchers_never_see_older_after_newer(hub: LiveHub) -> None:
    statuses = [S.STARTING] * 5 + [S.CHARGING] * 60 + [S.STOPPING] * 5 + [S.STOPPED] * 5
    updates = [session(st, i, wh=i * 10) for i, st in enumerate(statuses)]
    newest = updates[-1].observed_at
    deliveries = updates * 2
    random.Random(3).shuffle(deliveries)
    seen: list[list[datetime]] = []

    async def watcher(delay: int) -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        got: list[datetime] = []
        seen.append(got)
        async with hub.watch_session(P, "s1") as stream:
            while not got or got[-1] < newest:
                got.append((await next_of(stream)).observed_at)

    async def writer() -> None:
        for u in deliveries:
            await hub.record(u, "d1")

    await asyncio.gather(writer(), *(watcher(d) for d in range(0, 200, 10)))
    assert len(seen) == 20
    for got in seen:
        assert got == sorted(set(got)), "duplicate or older-after-newer"
        assert got[-1] == newest


async def test_watch_driver_sends_live_sessions_then_every_change(hub: LiveHub) -> None:
    await hub.record(session(S.COMPLETED, 0, id="old"), "d1")
    await hub.record(session(S.CHARGING, 0, id="a"), "d1")
    await hub.record(session(S.CHARGING, 0, id="b"), "d2")
    async with hub.watch_driver("d1") as updates:
        assert (await next_of(updates)).id == "a"  # "old" is history, "b" someone else's
        await hub.record(session(S.CHARGING, 0, id="b2"), "d2")
        await hub.record(session(S.STARTING, 0, id="c"), "d1")
        assert (await next_of(updates)).id == "c"
        await hub.record(session(S.STOPPED, 5, id="a"), "d1")
        got = await next_of(updates)
        assert (got.id, got.status) == ("a", S.STOPPED)


async def test_refresh_uses_the_record_and_checks_the_owner(
    hub: LiveHub, adapter: FakeAdapter
) -> None:
    await hub.records.save(
        SessionRecord(provider=P, session_id="s1", driver_id="d1", extra={"token": "x"})
    )
    adapter.put("d1", session(S.CHARGING, 10, wh=5))
    got = await hub.refresh(P, "s1", "d1")
    assert got is not None and got.energy == Energy(5)
    assert adapter.calls[-1].extra == {"token": "x"}
    assert await hub.refresh(P, "s1", "intruder") is None
    assert len(adapter.calls) == 1
    assert await hub.refresh(P, "unknown", "d1") is None  # the provider does not know it
    assert await hub.snapshot(P, "s1") == got


async def test_record_returns_the_reconciled_snapshot(hub: LiveHub) -> None:
    newer = await hub.record(session(S.CHARGING, 20, wh=200), "d1")
    assert await hub.record(session(S.STARTING, 10), "d1") == newer


async def test_driver_actions(hub: LiveHub, adapter: FakeAdapter) -> None:
    await hub.record(session(S.CHARGING, 0), "d1")
    assert await hub.driver_action(P, "s1", "d2", "abandon") is None  # not theirs
    stopping = await hub.driver_action(P, "s1", "d1", "stop_requested")
    assert stopping is not None and stopping.status is S.STOPPING
    abandoned = await hub.driver_action(P, "s1", "d1", "abandon")
    assert abandoned is not None and abandoned.status is S.ABANDONED
    later = replace(
        session(S.CHARGING, 0, word="STARTED"), observed_at=datetime.now(tz=at(0).tzinfo)
    )
    after = await hub.record(later, "d1")
    assert (after.status, after.provider_status) == (S.ABANDONED, "STARTED")


async def test_an_abandon_in_the_record_survives_a_lost_snapshot(
    hub: LiveHub, adapter: FakeAdapter
) -> None:
    await hub.records.save(
        SessionRecord(provider=P, session_id="s1", driver_id="d1", abandoned_at=at(5))
    )
    adapter.put("d1", session(S.CHARGING, 10))
    got = await hub.refresh(P, "s1")
    assert got is not None and got.status is S.ABANDONED


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    proc = RedisProcess()
    proc.start()
    yield proc
    proc.kill()


async def test_a_watcher_catches_up_after_redis_restarts(own_redis: RedisProcess) -> None:
    client = Redis.from_url(own_redis.url)
    # A slow first retry, so the next state is published while the broker is away.
    broker = RedisBroker(client, own_redis.url, key_of=message_key, backoff_initial=1.0)
    hub = LiveHub(live_settings(), client, SessionRecords(client), {}, broker=broker)
    await hub.start()
    try:
        async with hub.watch_session(P, "s1") as updates:
            await hub.record(session(S.CHARGING, 10, wh=100), "d1")
            assert (await next_of(updates)).energy == Energy(100)
            own_redis.kill()
            await wait_for(lambda: not broker.connected, what="the broker to notice")
            own_redis.start()  # empty: the old snapshot is gone
            async with asyncio.timeout(5):
                while True:
                    try:
                        await hub.record(session(S.STOPPED, 20, wh=150), "d1")
                        break
                    except RedisConnectionError:
                        await asyncio.sleep(0.02)
            assert not broker.connected  # so that message was lost: only a resync finds it
            got = await next_of(updates, within=10)
            assert (got.status, got.energy) == (S.STOPPED, Energy(150))
    finally:
        await hub.aclose()
        await client.aclose()


async def test_a_published_state_carries_the_record_as_it_was_written(
    hub: LiveHub, rds: Redis
) -> None:
    """Followers get the session's record with each message (no read per update), as it
    was when that state was written: a driver's abandon shows in the next message."""
    records = SessionRecords(rds)
    record = SessionRecord(provider=P, session_id="s1", driver_id="d1", charger_id="c1")
    await records.save(record)
    await hub.record(session(S.CHARGING, 5, wh=50), "d1")
    async with hub.watch_session(P, "s1") as updates:
        async with asyncio.timeout(5):
            read = await anext(updates)  # the stored snapshot, read with its record
        assert read.carries_record and read.record == record
        await hub.record(session(S.CHARGING, 10, wh=100), "d1")
        async with asyncio.timeout(5):
            first = await anext(updates)
        abandoned = record.model_copy(update={"abandoned_at": at(15)})
        await records.save(abandoned)
        await hub.record(session(S.CHARGING, 20, wh=200), "d1")
        async with asyncio.timeout(5):
            second = await anext(updates)
    assert first.carries_record and first.record == record
    assert second.carries_record and second.record == abandoned
