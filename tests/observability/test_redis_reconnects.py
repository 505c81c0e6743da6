"""Reconnections of the pub/sub connection reach ``bff_redis_reconnects_total``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from bff.live.broker import RedisBroker
from bff.observability.metrics import Metrics
from tests.conftest import FAST_ENV
from tests.observability.scrape import parse, scrape, value
from tests.support import GraphQLClient, Server, wait_for


async def kill_client(redis: Redis, name: str) -> bool:
    clients = await redis.client_list()
    ids = [c["id"] for c in clients if c.get("name") == name]
    for cid in ids:
        await redis.client_kill_filter(_id=cid)
    return bool(ids)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    r = Redis.from_url(redis_url, decode_responses=True)
    yield r
    await r.aclose()


@pytest.fixture(scope="module")
def own_server(redis_url: str) -> Iterator[Server]:
    srv = Server(FAST_ENV)
    srv.start()
    yield srv
    srv.stop()


async def test_a_broker_reconnect_is_counted(redis: Redis, redis_url: str) -> None:
    name = f"bff-test-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(redis, redis_url, client_name=name, backoff_initial=0.01)
    metrics = Metrics()
    metrics.count_redis_reconnects(lambda: broker.reconnects)
    await broker.start()
    try:
        assert await kill_client(redis, name)

        async def counted() -> bool:
            samples = parse(metrics.exposition().decode())
            return value(samples, "bff_redis_reconnects_total") >= 1

        await wait_for(counted, 10, what="the reconnect to be counted")
    finally:
        await broker.aclose()


async def test_a_server_counts_its_pubsub_reconnects(own_server: Server, redis: Redis) -> None:
    assert own_server.proc is not None
    name = f"bff-pubsub:{own_server.proc.pid}"
    client = GraphQLClient(own_server, None)
    try:
        before = value(await scrape(client), "bff_redis_reconnects_total")
        assert await kill_client(redis, name), f"no pub/sub connection named {name}"

        async def counted() -> bool:
            return value(await scrape(client), "bff_redis_reconnects_total") >= before + 1

        await wait_for(counted, 10, what="the server to count the reconnect")
    finally:
        await client.aclose()
