"""Session snapshots in Redis, changed only by an atomic compare-and-set.

Keys (all named in :mod:`bff.store.keys`): each session's snapshot (a
:class:`~bff.live.codec.Snapshot` as JSON; final sessions expire after a day, live ones
after a week without a write); per provider, the live set (non-final session ids scored
by when we last heard about them: the pollers' work list); per driver, their session
keys by last write, trimmed to two days (what a driver's subscription re-reads); and the
owner of a session we must poll but have no snapshot of yet.

Channels: the session's and the driver's carry the snapshot JSON, published inside the
same MULTI/EXEC as the write and only on a material change; the message also carries
the session's record, read in the same round trip as the snapshot (a subscriber then
needs no read per update).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bff.domain.model import ChargingSession, Provider
from bff.domain.reconcile import (
    FINAL,
    DriverAction,
    apply_driver_action,
    is_material_change,
    reconcile,
)
from bff.live.codec import Snapshot, decode_snapshot, encode_snapshot, with_record
from bff.store import keys
from bff.store.batch import BatchedGets
from bff.store.records import SessionRecord
from bff.store.replies import as_str


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of a compare-and-set: the state after it and what happened."""

    snapshot: Snapshot | None
    changed: bool  # the stored snapshot changed
    published: bool  # ... materially, so it was published

    @property
    def session(self) -> ChargingSession | None:
        return self.snapshot.session if self.snapshot else None


Step = Callable[[ChargingSession | None], ChargingSession | None]


class SnapshotStore:
    """The snapshots of sessions, their live set and their channels."""

    def __init__(
        self,
        redis: Redis,
        *,
        final_ttl_seconds: int = keys.SNAPSHOT_FINAL_TTL,
        live_ttl_seconds: int = keys.SNAPSHOT_LIVE_TTL,
        driver_index_seconds: int = keys.DRIVER_SNAPSHOTS_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self._final_ttl = final_ttl_seconds
        self._live_ttl = live_ttl_seconds
        self._index_seconds = driver_index_seconds
        self._clock = clock
        self._gets = BatchedGets(redis)  # concurrent gets share one MGET
        # Applies to one session within this process queue here instead of spinning on
        # WATCH conflicts; WATCH still arbitrates between replicas.
        self._locks = [asyncio.Lock() for _ in range(64)]

    def now(self) -> float:
        """The store's clock (epoch seconds): live-set scores and ``changed_at``."""
        return self._clock()

    async def get(self, provider: Provider, session_id: str) -> ChargingSession | None:
        snap = await self.get_snapshot(provider, session_id)
        return snap.session if snap else None

    async def get_many(
        self, sessions: Sequence[tuple[Provider, str]]
    ) -> list[ChargingSession | None]:
        """Sessions by ``(provider, session id)``, in that order (None where absent)."""
        return [s.session if s else None for s in await self.get_snapshots(sessions)]

    async def get_snapshot(self, provider: Provider, session_id: str) -> Snapshot | None:
        raw = await self._gets.get(keys.snapshot(keys.session_key(provider, session_id)))
        return decode_snapshot(raw) if raw else None

    async def get_with_record(
        self, provider: Provider, session_id: str
    ) -> tuple[Snapshot | None, SessionRecord | None]:
        """The session's snapshot, carrying its record (as a published message does), and
        the record, in one round trip (a session's keys share one slot)."""
        session = keys.session_key(provider, session_id)
        raw, raw_record = await self.redis.mget(keys.snapshot(session), keys.record(session))
        record = SessionRecord.model_validate_json(raw_record) if raw_record else None
        if not raw:
            return None, record
        return replace(decode_snapshot(raw), record=record, carries_record=True), record

    async def get_snapshots(
        self, sessions: Sequence[tuple[Provider, str]]
    ) -> list[Snapshot | None]:
        return await self._read([keys.session_key(*s) for s in sessions])

    async def _read(self, sessions: Sequence[str]) -> list[Snapshot | None]:
        """Snapshots by :func:`~bff.store.keys.session_key` (one MGET)."""
        if not sessions:
            return []
        raws = await self.redis.mget([keys.snapshot(k) for k in sessions])
        return [decode_snapshot(r) if r else None for r in raws]

    async def driver_snapshots(self, driver_id: str) -> list[Snapshot]:
        """Snapshots of the driver's sessions written in the last two days."""
        members = await self.redis.zrange(keys.driver_snapshots(driver_id), 0, -1)
        snaps = await self._read([as_str(k) for k in members])
        return [s for s in snaps if s is not None]

    async def apply(
        self, session: ChargingSession, driver_id: str | None
    ) -> ChargingSession | None:
        """Reconcile ``session`` into its snapshot; the new snapshot, or None if unchanged."""
        applied = await self.upsert(session, driver_id)
        return applied.session if applied.changed else None

    async def upsert(self, session: ChargingSession, driver_id: str | None) -> Applied:
        """Reconcile ``session`` into its snapshot; always returns the state after."""
        return await self._cas(
            session.provider, session.id, lambda cur: reconcile(cur, session), driver_id, True
        )

    async def act(
        self,
        provider: Provider,
        session_id: str,
        action: DriverAction,
        at: datetime,
        driver_id: str | None,
    ) -> Applied:
        """Apply the driver's own action (see :func:`~bff.domain.reconcile.apply_driver_action`)."""
        return await self._cas(
            provider, session_id, lambda cur: apply_driver_action(cur, action, at), driver_id, False
        )

    async def _cas(
        self, provider: Provider, session_id: str, step: Step, driver_id: str | None, heard: bool
    ) -> Applied:
        skey = keys.session_key(provider, session_id)
        key = keys.snapshot(skey)
        async with (
            self._locks[zlib.crc32(skey.encode()) % len(self._locks)],
            self.redis.pipeline(transaction=True) as pipe,
        ):
            while True:
                try:
                    await pipe.watch(key)
                    # The record comes along (same round trip) for the published message.
                    raw, record = await pipe.mget(key, keys.record(skey))
                    cur = decode_snapshot(raw) if raw else None
                    new = step(cur.session if cur else None)
                    owner = driver_id or (cur.driver_id if cur else None)
                    if new is None and cur is not None and owner != cur.driver_id:
                        new = cur.session  # only the owner is new: store it, publish nothing
                    if new is None:
                        return Applied(cur, changed=False, published=False)
                    now = self._clock()
                    material = is_material_change(cur.session if cur else None, new)
                    snap = Snapshot(
                        session=new,
                        version=cur.version + 1 if cur else 1,
                        driver_id=owner,
                        changed_at=now if material or cur is None else cur.changed_at,
                    )
                    payload = encode_snapshot(snap)
                    final = new.status in FINAL
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, payload, ex=self._final_ttl if final else self._live_ttl)
                    if final:
                        pipe.zrem(keys.live_set(provider), session_id)
                    else:
                        pipe.zadd(keys.live_set(provider), {session_id: now}, nx=not heard)
                    if owner:
                        index = keys.driver_snapshots(owner)
                        pipe.zadd(index, {skey: now})
                        pipe.zremrangebyscore(index, "-inf", now - self._index_seconds)
                        pipe.expire(index, self._index_seconds)
                    if material:
                        message = with_record(payload, record)
                        pipe.publish(keys.session_channel(skey), message)
                        if owner:
                            pipe.publish(keys.driver_channel(owner), message)
                    await pipe.execute()
                    return Applied(snap, changed=True, published=material)
                except WatchError:
                    continue

    # -- the pollers' work list ----------------------------------------------------------

    async def live_sessions(
        self, provider: Provider, quiet_for: float | None = None
    ) -> list[tuple[str, float]]:
        """Live session ids with when we last heard of them, oldest first; with
        ``quiet_for``, only those not heard of for that many seconds."""
        lk = keys.live_set(provider)
        if quiet_for is None:
            rows = await self.redis.zrange(lk, 0, -1, withscores=True)
        else:
            upto = self._clock() - quiet_for
            rows = await self.redis.zrangebyscore(lk, "-inf", upto, withscores=True)
        return [(as_str(m), float(score)) for m, score in cast(list[tuple[bytes, float]], rows)]

    async def touch(self, provider: Provider, session_id: str) -> None:
        """We asked about it (even without an answer): not quiet for a while."""
        await self.redis.zadd(keys.live_set(provider), {session_id: self._clock()}, xx=True)

    async def forget_live(self, provider: Provider, session_id: str) -> None:
        await self.redis.zrem(keys.live_set(provider), session_id)

    async def mark_due(self, provider: Provider, session_id: str, driver_id: str | None) -> None:
        """Have the pollers fetch this session at their next round (a lost prompt)."""
        await self.mark_due_many([(provider, session_id, driver_id)])

    async def mark_due_many(self, sessions: Sequence[tuple[Provider, str, str | None]]) -> None:
        """:meth:`mark_due` for many sessions, a few round trips in all."""
        for i in range(0, len(sessions), 500):
            async with self.redis.pipeline(transaction=True) as pipe:
                for provider, session_id, driver_id in sessions[i : i + 500]:
                    pipe.zadd(keys.live_set(provider), {session_id: 0})
                    if driver_id:
                        hint = keys.owner(keys.session_key(provider, session_id))
                        pipe.set(hint, driver_id, ex=keys.OWNER_TTL)
                await pipe.execute()

    async def owner(self, provider: Provider, session_id: str) -> str | None:
        """The driver a session was applied for (or marked due for), if we know."""
        snap = await self.get_snapshot(provider, session_id)
        if snap and snap.driver_id:
            return snap.driver_id
        raw = await self.redis.get(keys.owner(keys.session_key(provider, session_id)))
        return as_str(raw) if raw else None
