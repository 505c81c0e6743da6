"""Who is watching which live session, counted in Redis for every replica's pollers.

A replica counts its own watchers in memory (a ``sessionUpdated`` feed, or a driver's
``viewerSessionsUpdated`` feed for each of their sessions still moving): :meth:`add` and
:meth:`remove` are synchronous, so a subscription never waits on Redis for them. A
background task writes the changes at once and renews this replica's watches every third
of ``watch_expiry_seconds``: per provider, a sorted set (:func:`bff.store.keys.watchers`)
whose members name the replica, when its watch began and the session, scored by when
they expire. A session is watched while any unexpired member names it; a replica that
crashes stops renewing, and its watchers vanish within ``watch_expiry_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError

from bff.domain.model import Provider
from bff.store import keys
from bff.store.client import AnyRedis
from bff.store.replies import as_str
from bff.tasks import stop

log = logging.getLogger(__name__)

Key = tuple[Provider, str]

#: Members written per ZADD / ZREM command.
_BATCH = 500


class Watchers:
    """This replica's watchers; :meth:`watched` reads every replica's."""

    def __init__(
        self,
        redis: AnyRedis,
        expiry_seconds: float,
        *,
        clock: Callable[[], float] = time.time,
        replica: str | None = None,
    ) -> None:
        self.redis = redis
        self.expiry_seconds = expiry_seconds
        self._clock = clock
        self.replica = replica or uuid.uuid4().hex[:12]
        self._counts: dict[Key, int] = {}
        self._members: dict[Key, str] = {}  # the member of each watched session
        self._gone: dict[Key, str] = {}  # unwatched here: its member to remove
        self._new: set[Key] = set()  # watched here, not written yet
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- this replica's counts (synchronous) ---------------------------------------------

    def add(self, provider: Provider, session_id: str) -> None:
        key = (provider, session_id)
        n = self._counts.get(key, 0)
        self._counts[key] = n + 1
        if n == 0:
            since = int(self._clock() * 1000)
            self._members[key] = keys.watch_member(self.replica, since, session_id)
            self._new.add(key)
            self._changed.set()

    def remove(self, provider: Provider, session_id: str) -> None:
        key = (provider, session_id)
        n = self._counts.get(key, 0)
        if n > 1:
            self._counts[key] = n - 1
            return
        self._counts.pop(key, None)
        member = self._members.pop(key, None)
        self._new.discard(key)
        if member is not None:
            self._gone[key] = member
            self._changed.set()

    def count(self) -> int:
        """Sessions watched on this replica."""
        return len(self._counts)

    def watching(self, provider: Provider, session_id: str) -> bool:
        return (provider, session_id) in self._counts

    # -- every replica's (Redis) ---------------------------------------------------------

    async def watched(self, provider: Provider) -> dict[str, float]:
        """Sessions of ``provider`` watched on any replica, with since when (epoch
        seconds; the earliest watch when several replicas watch one)."""
        now_ms = int(self._clock() * 1000)
        members = await self.redis.zrangebyscore(keys.watchers(provider), now_ms, "+inf")
        out: dict[str, float] = {}
        for raw in members:
            try:
                _, since_ms, session_id = keys.parse_watch_member(as_str(raw))
            except ValueError:
                continue
            since = since_ms / 1000
            out[session_id] = min(since, out.get(session_id, since))
        return out

    async def flush(self, renew: bool = False) -> None:
        """Write what changed (and with ``renew`` every watch of this replica) to Redis."""
        now_ms = int(self._clock() * 1000)
        expires = now_ms + int(self.expiry_seconds * 1000)
        gone, self._gone = self._gone, {}
        todo = set(self._members) if renew else self._new & set(self._members)
        self._new -= todo
        try:
            await self._write(gone, todo, now_ms, expires, renew)
        except BaseException:
            # Not written: try again at the next flush.
            for key, member in gone.items():
                self._gone.setdefault(key, member)
            self._new |= todo & set(self._members)
            raise

    async def _write(
        self, gone: dict[Key, str], todo: Iterable[Key], now_ms: int, expires: int, renew: bool
    ) -> None:
        by_provider: dict[Provider, dict[str, int]] = {}
        for key in todo:
            by_provider.setdefault(key[0], {})[self._members[key]] = expires
        removed: dict[Provider, list[str]] = {}
        for (provider, _), member in gone.items():
            removed.setdefault(provider, []).append(member)
        if not by_provider and not removed and not renew:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for provider, members in removed.items():
                for i in range(0, len(members), _BATCH):
                    pipe.zrem(keys.watchers(provider), *members[i : i + _BATCH])
            for provider, scored in by_provider.items():
                items = list(scored.items())
                for i in range(0, len(items), _BATCH):
                    pipe.zadd(keys.watchers(provider), dict(items[i : i + _BATCH]))
                pipe.pexpire(keys.watchers(provider), int(self.expiry_seconds * 1000) + 1000)
            if renew:  # crashed replicas' watchers, now expired
                for provider in Provider:
                    pipe.zremrangebyscore(keys.watchers(provider), "-inf", now_ms)
            await pipe.execute()

    # -- the background task -------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-watchers")

    async def aclose(self) -> None:
        if self._task is not None:
            await stop(self._task)
            self._task = None
        if self._members:
            try:  # leave no watcher behind for the others to wait out
                self._gone.update(self._members)
                self._members.clear()
                self._counts.clear()
                await self.flush()
            except (RedisError, OSError) as exc:
                log.info("could not remove this replica's watchers: %s", exc)

    async def _run(self) -> None:
        period = self.expiry_seconds / 3
        renew_at = 0.0
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.0, renew_at - time.monotonic()))
            except TimeoutError:
                pass
            self._changed.clear()
            renew = time.monotonic() >= renew_at
            try:
                await self.flush(renew)
            except (RedisError, OSError) as exc:
                log.warning("writing watchers failed: %s", exc)
                await asyncio.sleep(min(1.0, period))
                self._changed.set()
                continue
            if renew:
                renew_at = time.monotonic() + period
