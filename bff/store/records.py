"""Session records: what the BFF knows about a session it started or has seen.

A record (:func:`~bff.store.keys.record`) is JSON: owner, charger, connector, the
adapter's ``extra`` such as a Plugchoice token, the charging profile, the driver's own
actions. The driver's index (:func:`~bff.store.keys.driver_index`) is a sorted set of
session ids by creation time: the per-driver index for providers without a history API,
and the ownership check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from bff.domain.model import Provider, SessionRef
from bff.store import keys
from bff.store.batch import BatchedGets
from bff.store.client import AnyRedis, is_cluster, mget


class SessionRecord(BaseModel):
    provider: Provider
    session_id: str
    driver_id: str
    charger_id: str | None = None
    connector_id: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    extra: dict[str, str] = Field(default_factory=dict)
    abandoned_at: datetime | None = None
    stop_requested_at: datetime | None = None
    charging_profile: dict[str, object] | None = None

    @property
    def key(self) -> str:
        return keys.session_key(self.provider, self.session_id)

    def ref(self) -> SessionRef:
        return SessionRef(self.driver_id, self.session_id, self.extra)


class SessionRecords:
    """Redis-backed session records and the per-driver index."""

    def __init__(self, redis: AnyRedis) -> None:
        self.redis = redis
        self._gets = BatchedGets(redis)  # concurrent gets share one MGET

    async def save(self, record: SessionRecord) -> None:
        """The record, then the driver's index (one MULTI on one node; on a cluster the
        two live in the session's and the driver's slots: the record first, so an index
        entry never names a session without one)."""
        index = keys.driver_index(record.driver_id, record.provider)
        member = {record.session_id: record.created_at.timestamp()}
        if is_cluster(self.redis):
            await self.redis.set(keys.record(record.key), record.model_dump_json())
            await self.redis.zadd(index, member)
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.record(record.key), record.model_dump_json())
            pipe.zadd(index, member)
            await pipe.execute()

    async def restore(self, records: list[SessionRecord]) -> int:
        """Write back records Redis lost, each only where there is none (a newer one,
        say the driver's own, wins); how many were written."""
        written = 0
        for i in range(0, len(records), 500):
            part = records[i : i + 500]
            async with self.redis.pipeline(transaction=False) as pipe:
                for record in part:
                    pipe.set(keys.record(record.key), record.model_dump_json(), nx=True)
                    pipe.zadd(
                        keys.driver_index(record.driver_id, record.provider),
                        {record.session_id: record.created_at.timestamp()},
                        nx=True,
                    )
                results = await pipe.execute()
            written += sum(1 for ok in results[::2] if ok)
        return written

    async def get(self, provider: Provider, session_id: str) -> SessionRecord | None:
        raw = await self._gets.get(keys.record(keys.session_key(provider, session_id)))
        return SessionRecord.model_validate_json(raw) if raw else None

    async def get_many(
        self, sessions: Sequence[tuple[Provider, str]]
    ) -> list[SessionRecord | None]:
        """Records of ``(provider, session id)`` in that order (None where absent)."""
        raws = await mget(self.redis, [keys.record(keys.session_key(*s)) for s in sessions])
        return [SessionRecord.model_validate_json(r) if r else None for r in raws]

    async def driver_keys(
        self, driver_id: str, provider: Provider, before: float | None = None, limit: int = 100
    ) -> list[tuple[str, float]]:
        """The driver's session ids at a provider with their creation time, newest first,
        created strictly before ``before`` (a timestamp)."""
        hi: str | float = f"({before}" if before is not None else "+inf"
        rows = await self.redis.zrevrangebyscore(
            keys.driver_index(driver_id, provider), hi, "-inf", start=0, num=limit, withscores=True
        )
        out: list[tuple[str, float]] = []
        for row in rows:
            member, score = row[0], row[1]
            out.append(
                (member.decode() if isinstance(member, bytes) else str(member), float(score))
            )
        return out
