"""This replica's copy of the live sessions, for the day Redis comes back empty.

Redis is the only home of who owns a session, and of a Plugchoice session's token (the
only credential that reaches it). With persistence Redis keeps them over a restart
(README, "Redis in production"); without, a restart empties it under running replicas,
and then no replica could reach a session still drawing power. So each replica keeps,
in memory, every provider's live set (read each round, in one MULTI with the epoch
marker: a flush between the two reads cannot pass for "no sessions") and, unless
``redis_keep_live_records`` is off, the record of each live session, read once when it
is first seen. After a loss :meth:`LiveCopy.restore` writes the records back (only where
none is) and puts their sessions on the pollers' list, due at once.

What the copy cannot hold: a session started on another replica within one round of
the loss; a change to a record after it was copied (a stop request, a charging
profile); anything, when every replica restarts together with Redis. It costs about
1 KB per live session per replica, and each replica holds every live Plugchoice token
(they pass through every replica's memory anyway when it polls).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bff.domain.model import Provider
from bff.live.snapshots import SnapshotStore
from bff.store import keys
from bff.store.client import AnyRedis, is_cluster
from bff.store.records import SessionRecord, SessionRecords
from bff.store.replies import as_str

Key = tuple[Provider, str]
#: Records read per MGET.
CHUNK = 500


class LiveCopy:
    """The live sessions this replica has seen, and their records (or None)."""

    def __init__(
        self,
        redis: AnyRedis,
        records: SessionRecords,
        store: SnapshotStore,
        providers: Iterable[Provider],
        *,
        keep_records: bool,
    ) -> None:
        self.redis = redis
        self.records = records
        self.store = store
        self.providers = tuple(providers)
        self.keep_records = keep_records
        self.sessions: dict[Key, SessionRecord | None] = {}

    async def read(self) -> tuple[Any, dict[Key, None]]:
        """The raw epoch marker and every live session, read at one instant (one MULTI).

        On a cluster the marker and the live sets live in different slots: the sets are
        read first, then the marker. A flush before the sets were read has taken the
        marker too (or another replica wrote a new one), so the loss is still seen; a
        flush after leaves sets read while they were intact.
        """
        cluster = is_cluster(self.redis)
        async with self.redis.pipeline(transaction=not cluster) as pipe:
            for p in self.providers:
                pipe.zrange(keys.live_set(p), 0, -1)
            if not cluster:
                pipe.get(keys.EPOCH)
            sets = await pipe.execute()
        marker = await self.redis.get(keys.EPOCH) if cluster else sets.pop()
        live: dict[Key, None] = {}
        for p, ids in zip(self.providers, sets, strict=True):
            for sid in ids:
                live[(p, as_str(sid))] = None
        return marker, live

    async def update(self, live: Mapping[Key, None]) -> None:
        """Follow the live sets read by :meth:`read` (on an unchanged epoch): forget
        sessions that left, copy the records of new ones."""
        for key in [k for k in self.sessions if k not in live]:
            del self.sessions[key]
        if not self.keep_records:
            self.sessions.update({k: None for k in live if k not in self.sessions})
            return
        # Records missing last time are asked again: one may be written just after.
        wanted = [k for k in live if self.sessions.get(k) is None]
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i : i + CHUNK]
            found = await self.records.get_many(part)
            self.sessions.update(zip(part, found, strict=True))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p, _ in self.sessions:
            out[p.value] = out.get(p.value, 0) + 1
        return out

    async def restore(self, sessions: Mapping[Key, SessionRecord | None]) -> list[Key]:
        """Write back the records of ``sessions`` (where none is) and make those sessions
        due for the pollers; the sessions restored."""
        records = [r for r in sessions.values() if r is not None]
        if not records:
            return []
        await self.records.restore(records)
        await self.store.mark_due_many([(r.provider, r.session_id, r.driver_id) for r in records])
        return [(r.provider, r.session_id) for r in records]
