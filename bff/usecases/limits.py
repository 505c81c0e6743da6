"""Shared limits in Redis (all replicas): connector cooldowns and per-driver rate limits.

Keys: :func:`bff.store.keys.connector_cooldown` (built by the caller) and
:func:`bff.store.keys.mutation_rate`.
"""

from __future__ import annotations

import math
import time

from bff.errors import ConnectorCoolingDown, RateLimited
from bff.store import keys
from bff.store.client import AnyRedis


async def take_cooldown(redis: AnyRedis, key: str, seconds: float) -> None:
    """Claim the connector (its cooldown ``key``) for ``seconds``, or raise
    ConnectorCoolingDown with the rest."""
    ms = max(1, int(seconds * 1000))
    if await redis.set(key, str(time.time()), nx=True, px=ms):
        return
    left = await redis.pttl(key)
    raise ConnectorCoolingDown(max(1, math.ceil(left / 1000)) if left > 0 else 1)


async def restart_cooldown(redis: AnyRedis, key: str, seconds: float) -> None:
    """The connector's cooldown runs ``seconds`` from now (the provider accepted)."""
    await redis.set(key, str(time.time()), px=max(1, int(seconds * 1000)))


async def release_cooldown(redis: AnyRedis, key: str) -> None:
    await redis.delete(key)


# GCRA (a leaky bucket as one timestamp): ``tat`` is when the driver's bucket is empty
# again. Each action adds ``interval``; an action is refused while that would put ``tat``
# more than ``burst`` intervals ahead of now. Redis's clock, so replicas agree; no
# window edges, so no double burst at a minute boundary. Returns ms to wait, 0 if taken.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
return 0
"""


async def check_driver_rate(redis: AnyRedis, driver_id: str, per_minute: int) -> None:
    """``per_minute`` mutations a minute per driver, shared by all replicas; a burst of
    up to ``per_minute`` at once. Raises RateLimited with the seconds until the next."""
    interval_ms = 60_000 / max(1, per_minute)
    bucket = keys.mutation_rate(driver_id)
    wait_ms = await redis.eval(_GCRA, 1, bucket, interval_ms, max(1, per_minute))
    if int(wait_ms) > 0:
        raise RateLimited("too many actions; slow down", max(1, math.ceil(int(wait_ms) / 1000)))
