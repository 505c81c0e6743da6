"""The snapshot store: compare-and-set under concurrency, publishes, live set, expiry."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from itertools import pairwise

import pytest
from redis.asyncio import Redis

from bff.domain.model import Energy, Provider
from bff.domain.model import SessionStatus as S
from bff.domain.reconcile import is_material_change
from bff.live.codec import decode_snapshot
from bff.live.snapshots import SnapshotStore
from bff.store import keys
from tests.live.conftest import LIVE_REDIS_URL
from tests.live.support import at, session, wait_for

P = Provider.PLUGSURFING


class Recorder:
    """Every message on some channels, in order, through a plain Redis subscriber."""

    def __init__(self, redis: Redis) -> None:
        self.pubsub = redis.pubsub()
        self.messages: list[tuple[str, str]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self, *channels: str) -> None:
        await self.pubsub.subscribe(*channels)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for m in self.pubsub.listen():
            if m["type"] == "message":
                self.messages.append((m["channel"].decode(), m["data"].decode()))

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.pubsub.aclose()  # type: ignore[no-untyped-call]


@pytest.fixture
async def recorder(rds: Redis) -> AsyncIterator[Recorder]:
    r = Recorder(rds)
    await r.start(keys.session_channel(keys.session_key(P, "s1")), keys.driver_channel("d1"))
    yield r
    await r.stop()


async def test_apply_stores_publishes_and_returns_only_changes(
    rds: Redis, recorder: Recorder
) -> None:
    store = SnapshotStore(rds)
    first = session(S.CHARGING, 10, wh=100)
    assert await store.apply(first, "d1") == first
    assert await store.apply(first, "d1") is None  # duplicate
    assert await store.apply(session(S.STARTING, 5), "d1") is None  # older
    assert await store.get(P, "s1") == first
    await wait_for(lambda: len(recorder.messages) == 2, what="two messages")
    assert {ch for ch, _ in recorder.messages} == {
        keys.session_channel(keys.session_key(P, "s1")),
        keys.driver_channel("d1"),
    }
    snap = decode_snapshot(recorder.messages[0][1])
    assert (snap.session, snap.version, snap.driver_id) == (first, 1, "d1")


async def test_a_newer_identical_state_is_stored_but_not_published(
    rds: Redis, recorder: Recorder
) -> None:
    store = SnapshotStore(rds)
    await store.apply(replace(session(S.CHARGING, 10, wh=100), power_kw=7.0), "d1")
    applied = await store.upsert(replace(session(S.CHARGING, 20, wh=100), power_kw=7.0), None)
    assert applied.changed and not applied.published
    assert applied.snapshot is not None and applied.snapshot.version == 2
    assert applied.snapshot.driver_id == "d1"  # the owner is remembered
    # A late update between the two is older than what we hold now: ignored.
    assert await store.apply(session(S.STOPPING, 15, wh=100), None) is None
    await store.apply(session(S.STOPPED, 30, wh=120), None)
    await wait_for(lambda: len(recorder.messages) == 4, what="4 messages")
    assert [decode_snapshot(m).version for _, m in recorder.messages] == [1, 1, 3, 3]


async def test_concurrent_shuffled_applies_end_at_the_newest(
    rds: Redis, recorder: Recorder
) -> None:
    # Two stores on two clients: two replicas racing on WATCH, plus in-process races.
    other = Redis.from_url(LIVE_REDIS_URL)
    stores = [SnapshotStore(rds), SnapshotStore(other)]
    statuses = [S.STARTING] * 3 + [S.CHARGING] * 30 + [S.STOPPING] * 3 + [S.STOPPED] * 3
    updates = [session(st, i, wh=i * 10) for i, st in enumerate(statuses)]
    updates.append(session(S.COMPLETED, len(statuses), wh=400, cost_minor=99))
    deliveries = updates * 3
    random.Random(7).shuffle(deliveries)
    try:
        await asyncio.gather(*(stores[i % 2].apply(u, "d1") for i, u in enumerate(deliveries)))
    finally:
        await other.aclose()
    final = await stores[0].get(P, "s1")
    assert final is not None
    assert final.status is S.COMPLETED and final.energy == Energy(400)
    assert final.observed_at == at(len(statuses))
    await wait_for(
        lambda: any(decode_snapshot(m).session.status is S.COMPLETED for _, m in recorder.messages),
        what="the final state published",
    )
    published = [decode_snapshot(m) for ch, m in recorder.messages if keys.is_session_channel(ch)]
    versions = [p.version for p in published]
    assert versions == sorted(set(versions))  # each write once, in order
    times = [p.session.observed_at for p in published]
    assert times == sorted(times)
    assert len(published) <= len(updates)  # duplicates and stale ones published nothing
    for before, after in pairwise(published):
        assert is_material_change(before.session, after.session)  # only real changes


async def test_live_set_follows_the_lifecycle_and_final_snapshots_expire(rds: Redis) -> None:
    store = SnapshotStore(rds)
    await store.apply(session(S.CHARGING, 0), "d1")
    assert [sid for sid, _ in await store.live_sessions(P)] == ["s1"]
    assert 0 < await rds.ttl(keys.snapshot(keys.session_key(P, "s1"))) <= 7 * 86400
    await store.apply(session(S.COMPLETED, 10), "d1")
    assert await store.live_sessions(P) == []
    assert 0 < await rds.ttl(keys.snapshot(keys.session_key(P, "s1"))) <= 86400
    assert [s.session.id for s in await store.driver_snapshots("d1")] == ["s1"]


async def test_quiet_sessions_and_driver_actions(rds: Redis) -> None:
    now = [1000.0]
    store = SnapshotStore(rds, clock=lambda: now[0])
    await store.apply(session(S.CHARGING, 0, id="a"), "d1")
    now[0] = 1020.0
    await store.apply(session(S.CHARGING, 0, id="b"), "d1")
    now[0] = 1040.0
    assert [sid for sid, _ in await store.live_sessions(P, quiet_for=30)] == ["a"]
    # A driver's action is not news from the provider: "a" stays quiet.
    applied = await store.act(P, "a", "stop_requested", at(5), "d1")
    assert applied.session is not None and applied.session.status is S.STOPPING
    assert await rds.zscore(keys.live_set(P), "a") == 1000.0
    abandoned = await store.act(P, "b", "abandon", at(5), "d1")
    assert abandoned.session is not None and abandoned.session.status is S.ABANDONED
    assert [sid for sid, _ in await store.live_sessions(P)] == ["a"]
    assert (await store.act(P, "missing", "abandon", at(5), "d1")).snapshot is None


async def test_mark_due_and_owner(rds: Redis) -> None:
    store = SnapshotStore(rds)
    await store.mark_due(P, "x", "d9")
    assert await store.live_sessions(P, quiet_for=1) == [("x", 0.0)]
    assert await store.owner(P, "x") == "d9"
    assert await store.owner(P, "nobody") is None
