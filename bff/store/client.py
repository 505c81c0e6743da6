"""The Redis client of a process: one node (``redis.asyncio.Redis``) or a Redis Cluster
(``redis.asyncio.cluster.RedisCluster``), and the few commands that differ between them.

On a cluster each command goes to the node of its keys' slot, and a command or MULTI
whose keys span slots is refused (``CROSSSLOT``). Every key names its slot with a hash
tag (:mod:`bff.store.keys`), so each atomic step stays in one slot; what reads many
keys at once goes through here:

- :func:`mget`: one ``MGET`` on one node; on a cluster the keys grouped by slot, one
  ``MGET`` per slot, pipelined to their nodes (each slot's keys still read at one
  instant, as the step that wrote them was);
- :func:`mset`: the same for writes;
- :func:`publish`: ``PUBLISH`` on one node, ``SPUBLISH`` on a cluster (classic pub/sub
  is broadcast to every node of a cluster; sharded pub/sub stays in the channel's shard).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypeGuard

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline, RedisCluster

#: What the store, the live path and the use cases are given.
AnyRedis: TypeAlias = Redis | RedisCluster
AnyPipeline: TypeAlias = Pipeline | ClusterPipeline


def is_cluster(redis: AnyRedis) -> TypeGuard[RedisCluster]:
    return isinstance(redis, RedisCluster)


async def mget(redis: AnyRedis, keys: Sequence[str]) -> list[Any]:
    """The values of ``keys`` in order (None where absent)."""
    if not keys:
        return []
    if is_cluster(redis):
        return await redis.mget_nonatomic(list(keys))
    return await redis.mget(list(keys))


async def mset(redis: AnyRedis, values: Mapping[str, str]) -> None:
    if is_cluster(redis):
        await redis.mset_nonatomic(dict(values))
    else:
        await redis.mset(dict(values))


async def publish(redis: AnyRedis, channel: str, message: str) -> None:
    if is_cluster(redis):
        await redis.spublish(channel, message)
    else:
        await redis.publish(channel, message)


def publish_in(pipe: AnyPipeline, cluster: bool, channel: str, message: str) -> None:
    """Queue a publish in a pipeline or MULTI (sharded on a cluster: the channel's slot
    must be the slot of the transaction's keys)."""
    if cluster:
        pipe.spublish(channel, message)
    else:
        pipe.publish(channel, message)
