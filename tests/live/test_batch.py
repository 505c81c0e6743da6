"""Concurrent GETs share one MGET (bff.store.batch), with GET's answers and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bff.store.batch import MAX_BATCH, BatchedGets


class Counting:
    """A Redis client that counts the MGETs it is asked for."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.calls: list[int] = []

    async def mget(self, keys: list[str]) -> Any:
        self.calls.append(len(keys))
        return await self.redis.mget(keys)


async def test_gets_of_one_turn_share_one_mget(rds: Redis) -> None:
    await rds.mset({f"k{i}": f"v{i}" for i in range(10)})
    counting = Counting(rds)
    gets = BatchedGets(counting)  # type: ignore[arg-type]
    keys = [f"k{i}" for i in range(10)] + ["missing", "k3"]
    values = await asyncio.gather(*(gets.get(k) for k in keys))
    assert values == [f"v{i}".encode() for i in range(10)] + [None, b"v3"]
    assert counting.calls == [11], "one MGET, each key once"
    assert await gets.get("k1") == b"v1" and counting.calls == [11, 1]


async def test_a_big_burst_is_split(rds: Redis) -> None:
    counting = Counting(rds)
    gets = BatchedGets(counting)  # type: ignore[arg-type]
    n = MAX_BATCH + 7
    values = await asyncio.gather(*(gets.get(f"none{i}") for i in range(n)))
    assert values == [None] * n and counting.calls == [MAX_BATCH, 7]


async def test_an_error_reaches_every_waiter() -> None:
    class Down:
        async def mget(self, keys: list[str]) -> Any:
            raise RedisConnectionError("down")

    gets = BatchedGets(Down())  # type: ignore[arg-type]
    results = await asyncio.gather(gets.get("a"), gets.get("b"), return_exceptions=True)
    assert all(isinstance(r, RedisConnectionError) for r in results)
    with pytest.raises(RedisConnectionError):
        await gets.get("c")
