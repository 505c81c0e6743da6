"""The broker's own Redis connection: same server as the app's client, never from its
pool (a pool that a thousand subscribers would exhaust)."""

from __future__ import annotations

from contextlib import suppress

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def dedicated_connection(url: str, client_name: str) -> AbstractConnection:
    """A new, unconnected connection to the server at ``url`` (TCP, TLS or Unix socket)."""
    pool = ConnectionPool.from_url(
        url,
        socket_timeout=None,  # a subscriber waits for messages as long as it takes
        socket_connect_timeout=5.0,
        health_check_interval=0,  # the broker PINGs itself; redis-py's would read concurrently
        retry=Retry(NoBackoff(), 0),  # reconnects are the broker's, so it knows to resync
        client_name=client_name,
        protocol=2,  # pub/sub replies as RESP2 arrays
    )
    conn: AbstractConnection = pool.make_connection()  # type: ignore[no-untyped-call]
    return conn


async def close_quietly(conn: AbstractConnection) -> None:
    with suppress(Exception):
        await conn.disconnect(nowait=True)
