"""The shared resources of one BFF process, built in the app's lifespan and passed in.

Nothing here is a module-level global: :func:`open_resources` builds everything from
:class:`~bff.settings.Settings` and closes it in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bff.auth import DriverAuth
from bff.domain.model import Provider
from bff.live.hub import LiveHub
from bff.observability.metrics import Metrics
from bff.observability.tracing import Tracing
from bff.observability.upstream import observe_client
from bff.providers.base import ProviderAdapter
from bff.providers.charger_cache import ChargerCache
from bff.providers.registry import build_adapter, provider_urls
from bff.redis_embedded import EmbeddedRedis
from bff.settings import Settings
from bff.store.client import AnyRedis
from bff.store.persisted import PersistedQueryTexts
from bff.store.records import SessionRecords

log = logging.getLogger(__name__)


@dataclass
class Resources:
    settings: Settings
    redis: AnyRedis
    records: SessionRecords
    adapters: dict[Provider, ProviderAdapter]
    hub: LiveHub
    auth: DriverAuth
    chargers: ChargerCache  # chargers by id, briefly kept (``charger_cache_seconds``)
    queries: PersistedQueryTexts  # persisted queries' texts, shared by the replicas

    def adapter(self, provider: Provider) -> ProviderAdapter | None:
        return self.adapters.get(provider)


#: Connections a cluster client may open to each node. redis-py's cluster client has no
#: blocking pool (past its bound a command fails instead of waiting), so the bound sits
#: above what a busy process uses at once: per node, never per subscriber.
CLUSTER_CONNECTIONS_PER_NODE = 64
#: Plain commands in flight per pool-size unit on a cluster: they wait for a turn, as on
#: one node they wait for a pooled connection (transactions are bounded by the snapshot
#: store's locks, batched reads by their batching).
CLUSTER_COMMANDS_PER_POOL_SLOT = 4


class GatedRedisCluster(RedisCluster):
    """redis-py's cluster client, with plain commands waiting for one of ``in_flight``
    turns: a burst (a thousand subscribers opening at once) queues instead of opening a
    connection each, so connections stay few per node."""

    def __init__(self, *args: Any, in_flight: int = 8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = asyncio.Semaphore(in_flight)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self._gate:
            return await super().execute_command(*args, **kwargs)

    async def mget_nonatomic(self, keys: Any, *args: Any) -> list[Any]:  # type: ignore[override]
        async with self._gate:  # a pipeline of one MGET per slot (never execute_command)
            return await super().mget_nonatomic(keys, *args)

    async def mset_nonatomic(self, mapping: Any) -> list[bool]:  # type: ignore[override]
        async with self._gate:
            return await super().mset_nonatomic(mapping)


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[tuple[AnyRedis, str]]:
    """The configured Redis (one node or a cluster), or an embedded redis-server when no
    URL is set, and its URL."""
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if settings.redis_cluster and not url:
        raise ValueError("BFF_REDIS_CLUSTER=true needs BFF_REDIS_URL naming a cluster node")
    if not url:
        embedded = EmbeddedRedis(settings.redis_data_dir)
        await embedded.start()
        url = embedded.url
    redis: AnyRedis
    if settings.redis_cluster:
        redis = _cluster_client(url, settings)
        await redis.initialize()
    else:
        redis = _single_client(url, settings)
    try:
        yield redis, url
    finally:
        await redis.aclose()
        if embedded:
            await embedded.stop()


def _single_client(url: str, settings: Settings) -> Redis:
    # A small blocking pool: commands wait for a free connection instead of opening more,
    # so a process holds pool size + 1 pub/sub connection whatever the load. Named per
    # process so operators (and tests) can count this process's connections.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_pool_size,
        timeout=10,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=15,
        client_name=f"bff:{os.getpid()}",
        # A pooled connection from before a Redis restart fails its next command; one
        # quick retry on a fresh connection instead of an error (redis-py's pool from a
        # URL retries nothing by default).
        retry=Retry(ExponentialBackoff(cap=0.25, base=0.02), 2),
    )
    return Redis(connection_pool=pool)


def _cluster_client(url: str, settings: Settings) -> RedisCluster:
    # The client learns the other nodes and the slots from the one named, follows MOVED
    # and, when a node is lost, asks the others for the new map (a replica promoted).
    return GatedRedisCluster.from_url(
        url,
        in_flight=settings.redis_pool_size * CLUSTER_COMMANDS_PER_POOL_SLOT,
        max_connections=max(settings.redis_pool_size, CLUSTER_CONNECTIONS_PER_NODE),
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=15,
        client_name=f"bff:{os.getpid()}",
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 6),
    )


@asynccontextmanager
async def open_resources(
    settings: Settings, metrics: Metrics | None = None, tracing: Tracing | None = None
) -> AsyncIterator[Resources]:
    async with AsyncExitStack() as stack:
        redis, redis_url = await stack.enter_async_context(open_redis(settings))
        if tracing is not None:
            tracing.instrument_redis(redis)
        adapters: dict[Provider, ProviderAdapter] = {}
        enabled = {p.upper() for p in settings.enabled_providers}
        for provider, url in provider_urls(settings).items():
            if provider.value not in enabled:
                continue
            adapter, client = build_adapter(provider, url, settings)
            # Request ids to the provider; latency and errors to ``metrics``.
            observe_client(client, provider.value, metrics)
            if tracing is not None:
                tracing.instrument_client(client, provider.value)
            stack.push_async_callback(_close_client, client)
            adapters[provider] = adapter
        records = SessionRecords(redis)
        hub = LiveHub(settings, redis, records, adapters, redis_url=redis_url, tracing=tracing)
        await hub.start()
        stack.push_async_callback(hub.aclose)
        auth = DriverAuth.from_settings(settings)
        stack.push_async_callback(auth.aclose)
        chargers = ChargerCache(
            adapters, settings.charger_cache_seconds, settings.charger_cache_size
        )
        queries = PersistedQueryTexts(redis)
        yield Resources(settings, redis, records, adapters, hub, auth, chargers, queries)


async def _close_client(client: httpx.AsyncClient) -> None:
    await client.aclose()
