"""Pub/sub fan-out: one Redis subscriber connection per process (per node of a cluster),
whatever the listeners.

    Broker (Protocol)      publish(channel, message), subscribe(*channels), start(), aclose()
     └── RedisBroker       a dedicated Redis connection (never from the pool, which a
          │                thousand subscribers would exhaust); local fan-out; reconnects
          │                with exponential backoff, then tells its listeners to RESYNC
          └── ClusterBroker  (bff.live.sharded) sharded pub/sub: one such connection per
                           master of a Redis Cluster, each holding its slots' channels

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

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from bff.live.connection import close_quietly, dedicated_connection
from bff.live.subscription import RESYNC, Event, Resync, Subscription
from bff.store.client import AnyRedis, publish
from bff.store.replies import as_str
from bff.tasks import cancel, stop

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


class Link:
    """One subscriber connection (to the single Redis, or to one master of a cluster) and
    what it was told: the channels routed to it, subscribed, confirmed, being dropped."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.wanted: set[str] = set()  # the channels routed here that listeners want
        self.told: set[str] = set()  # what we asked Redis for on this connection
        self.confirmed: set[str] = set()
        self.unsub_pending: Counter[str] = Counter()
        self.dirty = asyncio.Event()
        self.write_lock = asyncio.Lock()
        self.up = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None
        self.last_read = 0.0

    def forget(self) -> set[str]:
        """The connection is gone: what it had confirmed (its listeners must re-read)."""
        lost = set(self.confirmed)
        self.up.clear()
        self.told.clear()
        self.confirmed.clear()
        self.unsub_pending.clear()
        return lost


class RedisBroker:
    """The process's single Redis subscriber, fanned out to local :class:`Subscription`s."""

    #: Subscribe and publish verbs: classic pub/sub here, sharded in a cluster.
    SUBSCRIBE, UNSUBSCRIBE = "SUBSCRIBE", "UNSUBSCRIBE"
    MESSAGE, SUBSCRIBED, UNSUBSCRIBED = "message", "subscribe", "unsubscribe"

    def __init__(
        self,
        redis: AnyRedis,
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
        self._owner: dict[str, Link] = {}  # which connection holds each wanted channel
        self._links: dict[str, Link] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._resync_on_confirm: set[str] = set()
        self._started = False
        self._closed = False
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return bool(self._links) and all(link.up.is_set() for link in self._links.values())

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._subs)

    @property
    def connections(self) -> int:
        """Subscriber connections open now (one; one per master on a cluster)."""
        return sum(1 for link in self._links.values() if link.up.is_set())

    async def start(self) -> None:
        """Connect in the background; waits (bounded) for the first connection."""
        if not self._started:
            self._started = True
            await self._open_links()
        with suppress(TimeoutError):
            async with asyncio.timeout(self._subscribe_timeout):
                while not self.connected:
                    links = [link.up.wait() for link in self._links.values()]
                    await (asyncio.gather(*links) if links else asyncio.sleep(0.02))
        if not self.connected:
            log.warning("pub/sub not connected yet; retrying in the background")

    async def _open_links(self) -> None:
        self._add_link(Link("redis", self._url))

    def _add_link(self, link: Link) -> None:
        self._links[link.name] = link
        link.runner = asyncio.create_task(self._run(link), name=f"redis-broker:{link.name}")

    async def _drop_link(self, link: Link) -> None:
        self._links.pop(link.name, None)
        if link.runner is not None:
            await stop(link.runner)
            link.runner = None

    async def aclose(self) -> None:
        self._closed = True
        for link in list(self._links.values()):
            await self._drop_link(link)
        for subs in list(self._subs.values()):
            for sub in subs:
                sub.close()
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(RedisConnectionError("the broker is closed"))

    async def publish(self, channel: str, message: str) -> None:
        await publish(self._redis, channel, message)

    def subscribe(self, *channels: str) -> AbstractAsyncContextManager[Subscription]:
        return self._subscribe(tuple(dict.fromkeys(channels)))

    # -- routing: which connection holds a channel ---------------------------------------

    def _route(self, channel: str) -> Link | None:
        return next(iter(self._links.values()), None)

    def _want(self, channel: str) -> None:
        link = self._route(channel)
        if link is not None:
            self._owner[channel] = link
            link.wanted.add(channel)
            link.dirty.set()

    def _unwant(self, channel: str) -> None:
        link = self._owner.pop(channel, None)
        if link is not None:
            link.wanted.discard(channel)
            link.dirty.set()  # the writer unsubscribes what nobody wants any more

    def _reroute(self) -> None:
        """Route every wanted channel again (the cluster's map changed). A channel that
        moves is re-subscribed on its new connection, and its listeners re-read."""
        for link in self._links.values():
            link.wanted.clear()
            link.dirty.set()
        for channel in self._subs:
            old = self._owner.pop(channel, None)
            self._want(channel)
            new = self._owner.get(channel)
            if old is not None and new is not old and channel in old.confirmed:
                self._resync_on_confirm.add(channel)

    @asynccontextmanager
    async def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Subscription]:
        if self._closed or not self._started:
            raise RuntimeError("the broker is not running")
        sub = Subscription(channels, self._max_keys)
        waits: list[tuple[str, asyncio.Future[None]]] = []
        try:
            loop = asyncio.get_running_loop()
            for ch in channels:
                first = ch not in self._subs
                self._subs.setdefault(ch, set()).add(sub)
                if first:
                    self._want(ch)
                owner = self._owner.get(ch)
                if owner is None or ch not in owner.confirmed:
                    fut: asyncio.Future[None] = loop.create_future()
                    self._waiters.setdefault(ch, []).append(fut)
                    waits.append((ch, fut))
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
                        self._unwant(ch)

    # -- one connection ----------------------------------------------------------------

    async def _run(self, link: Link) -> None:
        delay = self._backoff[0]
        while True:
            conn = dedicated_connection(link.url, self._client_name)
            try:
                await conn.connect()  # type: ignore[no-untyped-call]
            except (RedisError, OSError) as exc:
                await close_quietly(conn)
                log.warning("pub/sub connect to %s failed (%s); retrying in %.2fs",
                            link.name, exc, delay)  # fmt: skip
                self._connect_failed(link)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            try:
                await self._serve(link, conn)
            except (RedisError, OSError) as exc:
                log.warning("pub/sub connection to %s lost: %s", link.name, exc)
            finally:
                self._resync_on_confirm |= link.forget()
                await close_quietly(conn)
            self.reconnects += 1
            self._connection_lost(link)

    def _connect_failed(self, link: Link) -> None:
        """Hook: a connection attempt failed (a cluster asks for the map again)."""

    def _connection_lost(self, link: Link) -> None:
        """Hook: an established connection was lost."""

    async def _serve(self, link: Link, conn: AbstractConnection) -> None:
        link.last_read = asyncio.get_running_loop().time()
        link.dirty.set()  # subscribe to everything wanted on this new connection
        link.up.set()
        tasks = [
            asyncio.create_task(self._read_loop(link, conn)),
            asyncio.create_task(self._write_loop(link, conn)),
            asyncio.create_task(self._ping_loop(link, conn)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise RedisConnectionError("pub/sub loop ended")
        finally:
            for task in tasks:
                cancel(task)
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_loop(self, link: Link, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                reply = await conn.read_response(timeout=math.inf)
            except ResponseError as exc:  # a refused (S)SUBSCRIBE, e.g. MOVED
                link.last_read = loop.time()
                self._refused(link, exc)
                continue
            link.last_read = loop.time()
            if isinstance(reply, list) and len(reply) >= 2:
                data = reply[2] if len(reply) > 2 else None
                self._on_reply(link, as_str(reply[0]), as_str(reply[1]), data)

    def _refused(self, link: Link, exc: ResponseError) -> None:
        log.warning("pub/sub on %s refused a command: %s", link.name, exc)

    async def _write_loop(self, link: Link, conn: AbstractConnection) -> None:
        while True:
            await link.dirty.wait()
            link.dirty.clear()
            drop, add = link.told - link.wanted, link.wanted - link.told
            if drop:
                link.told -= drop
                link.confirmed -= drop
                link.unsub_pending.update(drop)
                for group in self._batches(drop):
                    await self._send(link, conn, self.UNSUBSCRIBE, *group)
            if add:
                link.told |= add
                for group in self._batches(add):
                    await self._send(link, conn, self.SUBSCRIBE, *group)

    def _batches(self, channels: set[str]) -> list[list[str]]:
        """Channels per command (sharded pub/sub wants one slot per command)."""
        return [sorted(channels)]

    async def _ping_loop(self, link: Link, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        pinged_at: float | None = None
        while True:
            await asyncio.sleep(self._ping_interval)
            if pinged_at is not None and link.last_read < pinged_at:
                raise RedisConnectionError("no answer to PING on the pub/sub connection")
            pinged_at = None
            if loop.time() - link.last_read >= self._ping_interval:
                pinged_at = loop.time()
                await self._send(link, conn, "PING")

    async def _send(self, link: Link, conn: AbstractConnection, *args: str) -> None:
        async with link.write_lock:
            if not conn.is_connected:  # never let redis-py reconnect behind our back
                raise RedisConnectionError("pub/sub connection closed")
            await conn.send_command(*args, check_health=False)

    def _on_reply(self, link: Link, kind: str, channel: str, data: Any) -> None:
        if kind == self.MESSAGE:
            self._fan_out(channel, as_str(data))
        elif kind == self.SUBSCRIBED:
            self._on_confirmed(link, channel)
        elif kind == self.UNSUBSCRIBED:
            if link.unsub_pending[channel] > 0:
                link.unsub_pending[channel] -= 1
                if not link.unsub_pending[channel]:
                    del link.unsub_pending[channel]
            else:
                self._dropped_by_server(link, channel)

    def _dropped_by_server(self, link: Link, channel: str) -> None:
        """Hook: Redis unsubscribed us unasked (a cluster slot moved away)."""

    def _on_confirmed(self, link: Link, channel: str) -> None:
        if link.unsub_pending[channel] or channel not in link.told:
            return  # the reply to an older SUBSCRIBE whose UNSUBSCRIBE is on its way
        link.confirmed.add(channel)
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
