"""Pub/sub fan-out: one Redis subscriber connection per process, whatever the listeners.

    Broker (Protocol)   publish(channel, message), subscribe(*channels), start(), aclose()
     └── RedisBroker    a dedicated Redis connection (never from the pool, which a
                        thousand subscribers would exhaust); local fan-out; reconnects
                        with exponential backoff, then tells its listeners to RESYNC

Shaped like encode/broadcaster: one backend subscription per channel is shared by every
local listener, and ``subscribe()`` is an async context manager whose clean-up (no
``await`` in it, so a cancelled task cannot skip it) drops the Redis channel when the
last local listener leaves. ``subscribe()`` returns only once Redis has confirmed the
channels, so a snapshot read afterwards cannot miss a message published in between.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from bff.live.connection import close_quietly, dedicated_connection
from bff.live.subscription import RESYNC, Event, Resync, Subscription
from bff.store.replies import as_str

__all__ = ["RESYNC", "Broker", "Event", "KeyOf", "RedisBroker", "Resync", "Subscription"]

log = logging.getLogger(__name__)

#: (channel, message) -> the key a slow listener's buffer conflates on.
KeyOf = Callable[[str, str], str]


class Broker(Protocol):
    """Publish strings on channels; listen to channels through a :class:`Subscription`."""

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    def subscribe(self, *channels: str) -> AbstractAsyncContextManager[Subscription]: ...


def by_channel(channel: str, message: str) -> str:
    return channel


class RedisBroker:
    """The process's single Redis subscriber, fanned out to local :class:`Subscription`s."""

    def __init__(
        self,
        redis: Redis,
        url: str,
        *,
        key_of: KeyOf = by_channel,
        max_keys: int = 64,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        ping_interval: float = 15.0,
        subscribe_timeout: float = 10.0,
        client_name: str = "bff-pubsub",
    ) -> None:
        self._redis = redis
        self._url = url
        self._key_of = key_of
        self._max_keys = max_keys
        self._backoff = (backoff_initial, backoff_max)
        self._ping_interval = ping_interval
        self._subscribe_timeout = subscribe_timeout
        self._client_name = client_name
        self._subs: dict[str, set[Subscription]] = {}  # what the listeners want
        self._told: set[str] = set()  # what we asked Redis for on this connection
        self._confirmed: set[str] = set()
        self._unsub_pending: Counter[str] = Counter()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._resync_on_confirm: set[str] = set()
        self._dirty = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._up = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self._last_read = 0.0
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._subs)

    async def start(self) -> None:
        """Connect in the background; waits (bounded) for the first connection."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="redis-broker")
        with suppress(TimeoutError):
            async with asyncio.timeout(self._subscribe_timeout):
                await self._up.wait()
        if not self._up.is_set():
            log.warning("pub/sub not connected yet; retrying in the background")

    async def aclose(self) -> None:
        self._closed = True
        if self._runner is not None:
            self._runner.cancel()
            with suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for subs in list(self._subs.values()):
            for sub in subs:
                sub.close()
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(RedisConnectionError("the broker is closed"))

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(channel, message)

    def subscribe(self, *channels: str) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(tuple(dict.fromkeys(channels)))

    @asynccontextmanager
    async def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Subscription]:
        if self._closed or self._runner is None:
            raise RuntimeError("the broker is not running")
        sub = Subscription(channels, self._max_keys)
        waits: list[tuple[str, asyncio.Future[None]]] = []
        try:
            loop = asyncio.get_running_loop()
            for ch in channels:
                self._subs.setdefault(ch, set()).add(sub)
                if ch not in self._confirmed:
                    fut: asyncio.Future[None] = loop.create_future()
                    self._waiters.setdefault(ch, []).append(fut)
                    waits.append((ch, fut))
            self._dirty.set()
            if waits:
                try:
                    async with asyncio.timeout(self._subscribe_timeout):
                        await asyncio.gather(*(f for _, f in waits))
                except TimeoutError:
                    raise RedisConnectionError("pub/sub subscription not confirmed") from None
            yield sub
        finally:
            sub.close()
            for ch, fut in waits:
                fut.cancel()
                with suppress(KeyError, ValueError):
                    self._waiters[ch].remove(fut)
                    if not self._waiters[ch]:
                        del self._waiters[ch]
            for ch in channels:
                subs = self._subs.get(ch)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subs[ch]
            self._dirty.set()  # the writer unsubscribes what nobody wants any more

    # -- the connection ----------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            conn = dedicated_connection(self._url, self._client_name)
            try:
                await conn.connect()  # type: ignore[no-untyped-call]
            except (RedisError, OSError) as exc:
                await close_quietly(conn)
                log.warning("pub/sub connect failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            try:
                await self._serve(conn)
            except (RedisError, OSError) as exc:
                log.warning("pub/sub connection lost: %s", exc)
            finally:
                self._up.clear()
                self._resync_on_confirm |= self._confirmed
                self._told.clear()
                self._confirmed.clear()
                self._unsub_pending.clear()
                await close_quietly(conn)
            self.reconnects += 1

    async def _serve(self, conn: AbstractConnection) -> None:
        self._last_read = asyncio.get_running_loop().time()
        self._dirty.set()  # subscribe to everything wanted on this new connection
        self._up.set()
        tasks = [
            asyncio.create_task(self._read_loop(conn)),
            asyncio.create_task(self._write_loop(conn)),
            asyncio.create_task(self._ping_loop(conn)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise RedisConnectionError("pub/sub loop ended")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_loop(self, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            reply = await conn.read_response(timeout=math.inf)
            self._last_read = loop.time()
            if isinstance(reply, list) and len(reply) >= 2:
                data = reply[2] if len(reply) > 2 else None
                self._on_reply(as_str(reply[0]), as_str(reply[1]), data)

    async def _write_loop(self, conn: AbstractConnection) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            want = set(self._subs)
            drop, add = self._told - want, want - self._told
            if drop:
                self._told -= drop
                self._confirmed -= drop
                self._unsub_pending.update(drop)
                await self._send(conn, "UNSUBSCRIBE", *sorted(drop))
            if add:
                self._told |= add
                await self._send(conn, "SUBSCRIBE", *sorted(add))

    async def _ping_loop(self, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        pinged_at: float | None = None
        while True:
            await asyncio.sleep(self._ping_interval)
            if pinged_at is not None and self._last_read < pinged_at:
                raise RedisConnectionError("no answer to PING on the pub/sub connection")
            pinged_at = None
            if loop.time() - self._last_read >= self._ping_interval:
                pinged_at = loop.time()
                await self._send(conn, "PING")

    async def _send(self, conn: AbstractConnection, *args: str) -> None:
        async with self._write_lock:
            if not conn.is_connected:  # never let redis-py reconnect behind our back
                raise RedisConnectionError("pub/sub connection closed")
            await conn.send_command(*args, check_health=False)

    def _on_reply(self, kind: str, channel: str, data: Any) -> None:
        if kind == "message":
            self._fan_out(channel, as_str(data))
        elif kind == "subscribe":
            self._on_confirmed(channel)
        elif kind == "unsubscribe" and self._unsub_pending[channel] > 0:
            self._unsub_pending[channel] -= 1
            if not self._unsub_pending[channel]:
                del self._unsub_pending[channel]

    def _on_confirmed(self, channel: str) -> None:
        if self._unsub_pending[channel] or channel not in self._told:
            return  # the reply to an older SUBSCRIBE whose UNSUBSCRIBE is on its way
        self._confirmed.add(channel)
        for fut in self._waiters.pop(channel, []):
            if not fut.done():
                fut.set_result(None)
        if channel in self._resync_on_confirm:
            self._resync_on_confirm.discard(channel)
            for sub in self._subs.get(channel, ()):
                sub.resync()

    def _fan_out(self, channel: str, message: str) -> None:
        subs = self._subs.get(channel)
        if not subs:
            return
        try:
            key = self._key_of(channel, message)
        except Exception:  # a malformed message still reaches listeners, per channel
            key = channel
        event = Event(channel, message)
        for sub in subs:
            sub.put(key, event)
