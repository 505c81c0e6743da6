"""Persisted queries, compatible with Apollo's persisted-query link (APQ).

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}``:

- with the hash only: we run the stored query, or answer ``PersistedQueryNotFound``
  (``extensions.code = PERSISTED_QUERY_NOT_FOUND``, HTTP 200, as Apollo Server does), and
  the link retries with the full query;
- with the query and the hash: the hash must be the query's SHA-256 (else
  ``PERSISTED_QUERY_HASH_MISMATCH``, HTTP 400); after a run that parsed and validated,
  the query is stored in Redis (:class:`QueryTexts`) so every replica knows it.

With ``only`` (``BFF_PERSISTED_QUERIES_ONLY``) nothing is registered by clients: a request
must name a known operation, by hash or by its exact text, else
``PERSISTED_QUERY_NOT_ALLOWED`` (HTTP 400); with a known hash the known text runs, whatever
text came beside it. Known operations are those registered in Redis
and those of ``BFF_PERSISTED_QUERIES_FILE``, which every replica pins at startup. An
unknown hash alone still answers ``PersistedQueryNotFound``; the link's retry with the
text is the request refused.

The engine (:mod:`bff.graphql.engine.engine`) resolves every request through it, HTTP or
websocket alike.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bff.errors import PersistedQueryRefused
from bff.graphql.engine.operations_file import read_operations_file
from bff.settings import Settings

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Longer documents still run but are not stored (a client must not fill Redis).
MAX_STORED_QUERY_BYTES = 64 * 1024


def not_found() -> PersistedQueryRefused:
    return PersistedQueryRefused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200)


def not_supported() -> PersistedQueryRefused:
    return PersistedQueryRefused("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", 200)


@dataclass(frozen=True)
class Resolved:
    """The query to run, and the hash to store it under once it ran (or None)."""

    query: str | None
    register: str | None = None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class QueryTexts(Protocol):
    """Where the texts are kept, shared by the replicas (the app passes
    :class:`bff.store.persisted.PersistedQueryTexts`). Its failures are its own: a lookup
    answers None, a write False."""

    async def get(self, digest: str) -> str | None: ...

    async def add(self, digest: str, text: str, ttl_seconds: int) -> bool: ...

    async def pin(self, texts: Mapping[str, str]) -> bool: ...


class PersistedQueries:
    """The APQ rules over :class:`QueryTexts`, behind a small per-process cache (a hash
    names one text forever, so it never goes stale)."""

    def __init__(
        self,
        texts: QueryTexts,
        *,
        only: bool = False,
        ttl_seconds: int = 0,
        cache_size: int = 1000,
    ) -> None:
        self.texts = texts
        self.only = only
        self.ttl_seconds = ttl_seconds
        self._cache_size = cache_size
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._pinned: dict[str, str] = {}

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> Resolved:
        """What to run for a request's ``query`` and ``extensions``; raises
        :class:`PersistedQueryRefused`."""
        query = query or None
        pq = extensions.get("persistedQuery") if isinstance(extensions, Mapping) else None
        if pq is None:
            if self.only and query is not None and await self.lookup(sha256_hex(query)) is None:
                raise _not_allowed()
            return Resolved(query)
        digest = _check_extension(pq)
        if query is None:
            stored = await self.lookup(digest)
            if stored is None:
                raise not_found()
            return Resolved(stored)
        if self.only:
            # The hash names an allowed operation, and its allowed text is what runs: the
            # text sent beside it is not consulted. Apollo's websocket link sends the text
            # it printed with the manifest's id, and generate-persisted-query-manifest
            # sorts a document's definitions, so for an operation with fragments the two
            # texts differ while naming the same operation.
            stored = await self.lookup(digest)
            if stored is None:
                raise _not_allowed()
            return Resolved(stored)
        if sha256_hex(query) != digest:
            raise PersistedQueryRefused(
                "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query", 400
            )
        known = digest in self._cache or digest in self._pinned
        small = len(query.encode()) <= MAX_STORED_QUERY_BYTES
        return Resolved(query, None if known or not small else digest)

    async def lookup(self, digest: str) -> str | None:
        """The query stored under ``digest``, or None (also when the store is unreachable)."""
        pinned = self._pinned.get(digest)
        if pinned is not None:
            return pinned
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        text = await self.texts.get(digest)
        if text is None:
            return None
        if sha256_hex(text) != digest:  # never run what the hash does not name
            log.warning("persisted query %s does not match its hash: ignored", digest)
            return None
        self._remember(digest, text)
        return text

    async def register(self, digest: str, query: str) -> None:
        """Store a client's query (it ran); kept for ``ttl_seconds`` (0: for good)."""
        if await self.texts.add(digest, query, self.ttl_seconds):
            self._remember(digest, query)

    async def pin(self, queries: Iterable[str]) -> int:
        """Known operations for good (the allow-list): in this process and in the store."""
        texts = {sha256_hex(q): q for q in queries}
        self._pinned.update(texts)
        await self.texts.pin(texts)
        return len(texts)

    def _remember(self, digest: str, text: str) -> None:
        self._cache[digest] = text
        self._cache.move_to_end(digest)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _check_extension(pq: object) -> str:
    if not isinstance(pq, Mapping) or pq.get("version") != 1:
        raise PersistedQueryRefused(
            "PERSISTED_QUERY_INVALID", "Unsupported persisted query version", 400
        )
    digest = pq.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise PersistedQueryRefused(
            "PERSISTED_QUERY_INVALID", "sha256Hash must be 64 lowercase hex digits", 400
        )
    return digest


def _not_allowed() -> PersistedQueryRefused:
    return PersistedQueryRefused(
        "PERSISTED_QUERY_NOT_ALLOWED", "This server only runs registered operations", 400
    )


async def open_persisted_queries(
    settings: Settings, texts: QueryTexts
) -> PersistedQueries | None:
    """The app's store from the settings, with the operations file pinned (a missing or
    broken file fails the startup), or None when persisted queries are off."""
    if not (settings.persisted_queries or settings.persisted_queries_only):
        return None
    store = PersistedQueries(
        texts,
        only=settings.persisted_queries_only,
        ttl_seconds=settings.persisted_queries_ttl_seconds,
    )
    path = settings.persisted_queries_file
    if path:
        count = await store.pin(read_operations_file(path))
        log.info("persisted queries: %d operations pinned from %s", count, path)
    elif store.only:
        log.warning("persisted queries only, and no BFF_PERSISTED_QUERIES_FILE to pin")
    return store
