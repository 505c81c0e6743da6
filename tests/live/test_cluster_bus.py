"""The store and the live bus on a real Redis Cluster (3 masters + 3 replicas): every step
in one slot, sharded pub/sub with one subscriber connection per master."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster as ClusterClient
from redis.crc import key_slot

from bff.domain.model import Provider
from bff.domain.model import SessionStatus as S
from bff.live.broker import RESYNC, Event
from bff.live.codec import message_key
from bff.live.livecopy import LiveCopy
from bff.live.sharded import ClusterBroker
from bff.live.snapshots import SnapshotStore
from bff.store import keys
from bff.store.client import mget
from bff.store.epoch import ensure_epoch
from bff.store.persisted import PersistedQueryTexts
from bff.store.records import SessionRecord, SessionRecords
from bff.usecases.limits import check_driver_rate
from tests.live.support import session, wait_for
from tests.redis_cluster import RedisCluster

P = Provider.PLUGSURFING


@pytest.fixture
async def cluster_client(redis_cluster: RedisCluster) -> AsyncIterator[ClusterClient]:
    client = ClusterClient.from_url(redis_cluster.url)
    await client.initialize()
    yield client
    await client.aclose()


@pytest.fixture
async def broker(
    cluster_client: ClusterClient, redis_cluster: RedisCluster
) -> AsyncIterator[ClusterBroker]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    b = ClusterBroker(
        cluster_client, redis_cluster.url, key_of=message_key, max_keys=1000, client_name=name
    )
    await b.start()
    yield b
    await b.aclose()


async def pubsub_connections(redis_cluster: RedisCluster, name: str) -> int:
    total = 0
    for node in redis_cluster.nodes:
        if node.alive:
            clients = node.client().client_list()
            total += sum(1 for c in clients if c.get("name") == name)
    return total


async def test_one_connection_per_master_for_channels_in_every_slot(
    broker: ClusterBroker, cluster_client: ClusterClient, redis_cluster: RedisCluster
) -> None:
    channels = [keys.session_channel(keys.session_key(P, f"s{i}")) for i in range(300)]
    assert len({key_slot(c.encode()) * 3 // 16384 for c in channels}) == 3  # every master
    async with broker.subscribe(*channels) as sub:
        assert broker.connected and broker.connections == 3 == len(broker.masters)
        assert await pubsub_connections(redis_cluster, broker._client_name) == 3
        for ch in channels:
            await broker.publish(ch, f"m:{ch}")
        got: set[str] = set()

        async def all_arrived() -> bool:
            while sub.pending:
                item = await sub.get()
                assert isinstance(item, Event)
                got.add(item.channel)
            return got == set(channels)

        await wait_for(all_arrived, 10, "a message on each of 300 channels")
        # Sharded: each channel is known to its own shard only.
        home = redis_cluster.master_of(channels[0])
        for node in redis_cluster.nodes:
            if node.alive and node.client().execute_command("ROLE")[0] == b"master":
                [(_, n)] = node.client().execute_command("PUBSUB SHARDNUMSUB", channels[0])
                assert int(n) == (1 if node is home else 0)
    assert broker.channels == frozenset()


async def test_every_write_step_on_a_cluster(cluster_client: ClusterClient) -> None:
    sid, driver = f"s-{uuid.uuid4().hex[:8]}", f"d-{uuid.uuid4().hex[:8]}"
    assert key_slot(f"PLUGSURFING:{sid}".encode()) != key_slot(f"driver:{driver}".encode())
    records = SessionRecords(cluster_client)
    store = SnapshotStore(cluster_client)
    await records.save(SessionRecord(provider=P, session_id=sid, driver_id=driver))
    pubsub = cluster_client.pubsub()
    skey = keys.session_key(P, sid)
    await pubsub.ssubscribe(keys.session_channel(skey), keys.driver_channel(driver))
    try:
        applied = await store.upsert(session(S.CHARGING, 1, id=sid, wh=10), driver)
        assert applied.published
        seen: list[str] = []

        async def both() -> bool:
            msg = await pubsub.get_sharded_message(timeout=0.2)
            if msg and msg["type"] == "smessage":
                seen.append(msg["channel"].decode())
            return len(seen) >= 2

        await wait_for(both, 10, "the session's and the driver's message")
        assert set(seen) == {keys.session_channel(skey), keys.driver_channel(driver)}
    finally:
        await pubsub.aclose()
    assert [s.session.id for s in await store.driver_snapshots(driver)] == [sid]
    (snap,) = await store.get_snapshots([(P, sid)])
    assert snap is not None and snap.session.status is S.CHARGING
    got, record = await store.get_with_record(P, sid)
    assert got is not None and record is not None and record.driver_id == driver
    assert [r and r.session_id for r in await records.get_many([(P, sid), (P, "none")])] == [
        sid, None,
    ]  # fmt: skip
    assert await records.driver_keys(driver, P) != []
    await store.mark_due_many([(P, sid, driver), (P, f"{sid}-b", driver)])
    assert await store.owner(P, f"{sid}-b") == driver
    copy = LiveCopy(cluster_client, records, store, [P], keep_records=True)
    await ensure_epoch(cluster_client)
    marker, live = await copy.read()
    assert marker and (P, sid) in live
    texts = PersistedQueryTexts(cluster_client)
    digests = {f"{i:064x}": f"query Q{i} {{ a }}" for i in range(20)}
    assert await texts.pin(digests)
    raws = await mget(cluster_client, [keys.persisted_query(d) for d in digests])
    assert all(raws)
    await check_driver_rate(cluster_client, driver, 100)
    final = await store.upsert(session(S.COMPLETED, 9, id=sid, wh=20), driver)
    assert final.snapshot is not None and final.snapshot.version == 2
    assert (P, sid) not in (await copy.read())[1]


async def test_a_moved_slot_resubscribes_and_resyncs(
    broker: ClusterBroker, cluster_client: ClusterClient, redis_cluster: RedisCluster
) -> None:
    """Move a channel's slot to another master (as a resharding does): the master drops
    the subscription, the broker follows the new map, subscribes there and says RESYNC."""
    ch = keys.session_channel(keys.session_key(P, f"move-{uuid.uuid4().hex[:6]}"))
    slot = key_slot(ch.encode())
    async with broker.subscribe(ch) as sub:
        source = redis_cluster.master_of(ch)
        target = next(
            n for n in redis_cluster.nodes
            if n.alive and n is not source and n.client().execute_command("ROLE")[0] == b"master"
        )  # fmt: skip
        await asyncio.to_thread(redis_cluster.move_slot, slot, source, target)
        item = await asyncio.wait_for(sub.get(), 10)
        assert item is RESYNC
        await wait_for(lambda: broker._route(ch) is not None
                       and broker._route(ch).name.endswith(f":{target.port}"), 10)  # fmt: skip
        await broker.publish(ch, "after the move")
        item = await asyncio.wait_for(sub.get(), 10)
        assert isinstance(item, Event) and item.message == "after the move"
