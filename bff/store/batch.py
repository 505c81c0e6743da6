"""Concurrent GETs become one MGET.

A process talks to Redis over a small pool (two connections, so that the count stays
bounded whatever the load), and a connection is held for a whole round trip, which on a
busy event loop lasts until the loop comes back to read the reply. A thousand
subscribers catching up at once, or a burst of updates to a thousand sessions, would
queue on the pool one GET at a time; here the GETs made in one turn of the event loop
share one MGET (MGET reads all its keys at one instant, as the GETs would have in turn;
on a cluster, one MGET per slot: :func:`bff.store.client.mget`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bff.store.client import AnyRedis, mget

#: Keys per MGET; more waiting keys go in the next one.
MAX_BATCH = 500


class BatchedGets:
    """``await gets.get(key)``: the value (bytes) or None, like ``redis.get``."""

    def __init__(self, redis: AnyRedis) -> None:
        self.redis = redis
        self._waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._waiting.setdefault(key, []).append(fut)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await fut

    def _flush(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, {}
        keys = list(waiting)
        for i in range(0, len(keys), MAX_BATCH):
            part = {k: waiting[k] for k in keys[i : i + MAX_BATCH]}
            task = asyncio.ensure_future(self._mget(part))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _mget(self, waiting: dict[str, list[asyncio.Future[Any]]]) -> None:
        try:
            values = await mget(self.redis, list(waiting))
        except BaseException as exc:
            for futs in waiting.values():
                for fut in futs:
                    if fut.done():
                        continue
                    if isinstance(exc, Exception):
                        fut.set_exception(exc)
                    else:  # cancelled (shutting down): so are the waiters
                        fut.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for futs, value in zip(waiting.values(), values, strict=True):
            for fut in futs:
                if not fut.done():
                    fut.set_result(value)
