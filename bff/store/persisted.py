"""Persisted queries' texts in Redis, under their SHA-256 (:func:`bff.store.keys.persisted_query`).

Shared by the replicas. The APQ rules (what a hash may name, when a text is stored, the
allow-list) are the GraphQL engine's (:mod:`bff.graphql.engine.persisted`); this is only
where the texts are kept. Redis trouble is logged here and never fails a request: a
lookup answers None (the client then sends the text), a write is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from redis.exceptions import RedisError

from bff.store import keys
from bff.store.client import AnyRedis, mset
from bff.store.replies import as_str

log = logging.getLogger(__name__)


class PersistedQueryTexts:
    """``get``/``add``/``pin`` query texts by hash; see :mod:`bff.store.keys` for the TTLs."""

    def __init__(self, redis: AnyRedis) -> None:
        self.redis = redis

    async def get(self, digest: str) -> str | None:
        """The text stored under ``digest``, or None (also when Redis is unreachable)."""
        try:
            raw = await self.redis.get(keys.persisted_query(digest))
        except (RedisError, OSError) as exc:
            log.warning("persisted query lookup failed: %s", type(exc).__name__)
            return None
        return None if raw is None else as_str(raw)

    async def add(self, digest: str, text: str, ttl_seconds: int) -> bool:
        """Store a client's query for ``ttl_seconds`` (0: for good); False when Redis
        failed. Never replaces an entry: a pinned one must not get a TTL."""
        try:
            await self.redis.set(
                keys.persisted_query(digest), text, ex=ttl_seconds or None, nx=True
            )
        except (RedisError, OSError) as exc:
            log.warning("persisted query not stored: %s", type(exc).__name__)
            return False
        return True

    async def pin(self, texts: Mapping[str, str]) -> bool:
        """Store known operations for good (one MSET); False when Redis failed."""
        if not texts:
            return True
        try:
            await mset(self.redis, {keys.persisted_query(d): q for d, q in texts.items()})
        except (RedisError, OSError) as exc:
            log.warning("persisted queries pinned locally only: %s", type(exc).__name__)
            return False
        return True
