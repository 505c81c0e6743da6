"""The broker's own Redis connection: same server and credentials as the app's client,
but never from its pool (a pool that a thousand subscribers would exhaust)."""

from __future__ import annotations

from contextlib import suppress

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# Pool-level machinery of redis-py that a lone connection must not join.
_POOL_ONLY = ("maint_notifications", "orig_", "oss_cluster", "himport")


def dedicated_connection(redis: Redis, client_name: str) -> AbstractConnection:
    """A new, unconnected connection to ``redis``'s server (TCP, TLS or Unix socket)."""
    pool = redis.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith(_POOL_ONLY)}
    kwargs.update(
        socket_timeout=None,  # a subscriber waits for messages as long as it takes
        health_check_interval=0,  # the broker PINGs itself; redis-py's would read concurrently
        retry=Retry(NoBackoff(), 0),  # reconnects are the broker's, so it knows to resync
        client_name=client_name,
        protocol=2,  # pub/sub replies as RESP2 arrays
    )
    if kwargs.get("socket_connect_timeout") is None:
        kwargs["socket_connect_timeout"] = 5.0
    conn: AbstractConnection = pool.connection_class(**kwargs)
    return conn


async def close_quietly(conn: AbstractConnection) -> None:
    with suppress(Exception):
        await conn.disconnect(nowait=True)
