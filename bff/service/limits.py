"""Shared limits in Redis (all replicas): connector cooldowns and per-driver rate limits."""

from __future__ import annotations

import math
import time

from redis.asyncio import Redis

from bff.errors import RateLimited
from bff.service.outcomes import ConnectorCoolingDown


async def take_cooldown(redis: Redis, key: str, seconds: float) -> None:
    """Claim the connector for ``seconds``, or raise ConnectorCoolingDown with the rest."""
    ms = max(1, int(seconds * 1000))
    if await redis.set(f"cooldown:{key}", str(time.time()), nx=True, px=ms):
        return
    left = await redis.pttl(f"cooldown:{key}")
    raise ConnectorCoolingDown(max(1, math.ceil(left / 1000)) if left > 0 else 1)


async def release_cooldown(redis: Redis, key: str) -> None:
    await redis.delete(f"cooldown:{key}")


async def check_driver_rate(redis: Redis, driver_id: str, per_minute: int) -> None:
    """A fixed one-minute window per driver for mutations."""
    window = int(time.time() // 60)
    key = f"rl:mut:{driver_id}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 61)
        count, _ = await pipe.execute()
    if int(count) > per_minute:
        retry = 60 - int(time.time() % 60)
        raise RateLimited("too many actions; slow down", max(1, retry))
