"""Chargers by id, kept in process for a short time (``charger_cache_seconds``).

A session's detail screen shows its charger (name, place, connectors, tariff), read
from the provider by id on every request otherwise. Here each (provider, charger id)
is kept for a few seconds, at most ``charger_cache_size`` of them (least recently used
out first). Concurrent misses for the same key share one upstream call (single
flight); a failed call and an unknown id are not kept, so the next request asks again
and a provider error reaches every request that waited for it, as without the cache.

The cache is per process and never invalidated: what a driver sees may be up to
``charger_cache_seconds`` old (see the setting). Cached chargers are frozen
dataclasses shared by every request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from bff.domain.model import Charger, Provider
from bff.providers.base import ProviderAdapter

Key = tuple[Provider, str]
Fetch = asyncio.Task[dict[str, Charger]]


class ChargerCache:
    """``get`` answers like ``ProviderAdapter.get_chargers``: the known chargers by id,
    or the provider's error."""

    def __init__(
        self,
        adapters: Mapping[Provider, ProviderAdapter],
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._adapters = adapters
        self._ttl = ttl_seconds
        self._max = max(1, max_entries)
        self._clock = clock
        self._entries: OrderedDict[Key, tuple[float, Charger]] = OrderedDict()
        self._inflight: dict[Key, Fetch] = {}

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def cached(self, provider: Provider, charger_id: str) -> Charger | None:
        """The charger if it is held and fresh, without any call."""
        key = (provider, charger_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def get(self, provider: Provider, charger_ids: Sequence[str]) -> dict[str, Charger]:
        """The chargers with these ids that the provider knows (absent: unknown, or no
        such provider here). Raises the provider's error when it had to be asked and
        failed (also when another request's call, shared by this one, failed)."""
        adapter = self._adapters.get(provider)
        if adapter is None:
            return {}
        if not self.enabled:
            return await adapter.get_chargers(list(dict.fromkeys(charger_ids)))
        found: dict[str, Charger] = {}
        waiting: dict[Fetch, list[str]] = {}
        missing: list[str] = []
        for cid in dict.fromkeys(charger_ids):
            charger = self.cached(provider, cid)
            if charger is not None:
                found[cid] = charger
                continue
            task = self._inflight.get((provider, cid))
            if task is not None:
                waiting.setdefault(task, []).append(cid)
            else:
                missing.append(cid)
        if missing:
            task = asyncio.ensure_future(self._fetch(provider, adapter, missing))
            task.add_done_callback(_retrieve)
            for cid in missing:
                self._inflight[(provider, cid)] = task
            waiting[task] = missing
        if not waiting:
            return found
        # Shielded: a request that goes away does not cancel a call others wait for.
        outcomes = await asyncio.gather(
            *(asyncio.shield(t) for t in waiting), return_exceptions=True
        )
        error: BaseException | None = None
        for cids, outcome in zip(waiting.values(), outcomes, strict=True):
            if isinstance(outcome, BaseException):
                error = error or outcome
                continue
            found.update((cid, outcome[cid]) for cid in cids if cid in outcome)
        if error is not None:
            raise error
        return found

    async def _fetch(
        self, provider: Provider, adapter: ProviderAdapter, charger_ids: list[str]
    ) -> dict[str, Charger]:
        me = asyncio.current_task()
        asked_at = self._clock()
        try:
            chargers = await adapter.get_chargers(charger_ids)
        finally:
            for cid in charger_ids:
                if self._inflight.get((provider, cid)) is me:
                    del self._inflight[(provider, cid)]
        expires = asked_at + self._ttl  # counted from the question: never older than ttl
        for cid, charger in chargers.items():
            key = (provider, cid)
            self._entries[key] = (expires, charger)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return chargers


def _retrieve(task: Fetch) -> None:
    """Mark a failed call's error as seen even when every waiter went away."""
    if not task.cancelled():
        task.exception()
