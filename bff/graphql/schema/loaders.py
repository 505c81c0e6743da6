"""Per-request dataloaders, named by key and value; results come back in key order.

Built fresh per HTTP request and per subscription event (a connection-wide loader would
serve stale data).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Sequence

from strawberry.dataloader import DataLoader

from bff.domain.model import Charger, Provider, Receipt
from bff.errors import ProviderError
from bff.resources import Resources
from bff.usecases.partial import ProviderFailures
from bff.usecases.sessions import get_receipt

ChargerKey = tuple[Provider, str]
ReceiptKey = tuple[Provider, str, str]  # provider, session id, driver id


class ChargerByIdLoader(DataLoader[ChargerKey, Charger | None]):
    """Chargers by (provider, charger id): at most one ``get_chargers`` call per provider
    per tick, for the ids the process-wide :class:`~bff.providers.charger_cache.ChargerCache`
    does not hold."""

    def __init__(self, resources: Resources, failures: ProviderFailures) -> None:
        self.resources = resources
        self.failures = failures
        super().__init__(load_fn=self._load)

    def load(self, key: ChargerKey) -> Awaitable[Charger | None]:
        # A charger the process holds answers at once: no batch, no task, no loop turn.
        charger = self.resources.chargers.cached(*key)
        if charger is not None:
            self.prime(key, charger)  # unless this request already asked for it
        return super().load(key)

    async def _load(self, keys: Sequence[ChargerKey]) -> list[Charger | None]:
        by_provider: dict[Provider, list[str]] = defaultdict(list)
        for provider, charger_id in keys:
            if charger_id not in by_provider[provider]:
                by_provider[provider].append(charger_id)
        found: dict[ChargerKey, Charger] = {}

        async def one(provider: Provider, ids: list[str]) -> None:
            try:
                chargers = await self.resources.chargers.get(provider, ids)
            except ProviderError as exc:
                self.failures.add(provider, exc)
                return
            for cid, charger in chargers.items():
                found[(provider, cid)] = charger

        await asyncio.gather(*(one(p, ids) for p, ids in by_provider.items()))
        return [found.get(k) for k in keys]


class ReceiptBySessionLoader(DataLoader[ReceiptKey, Receipt | None]):
    """Receipts (a signed URL at Plugsurfing) fetched only when a client asks for them."""

    def __init__(self, resources: Resources, failures: ProviderFailures) -> None:
        self.resources = resources
        self.failures = failures
        super().__init__(load_fn=self._load)

    async def _load(self, keys: Sequence[ReceiptKey]) -> list[Receipt | None]:
        async def one(key: ReceiptKey) -> Receipt | None:
            provider, session_id, driver_id = key
            try:
                return await get_receipt(self.resources, driver_id, provider, session_id)
            except ProviderError as exc:
                self.failures.add(provider, exc)
                return None

        return list(await asyncio.gather(*(one(k) for k in keys)))


class Loaders:
    """The loaders of one request or subscription event, each made on first use (an
    event that reads neither charger nor receipt, the common case, makes none)."""

    __slots__ = ("_chargers", "_receipts", "failures", "resources")

    def __init__(self, resources: Resources, failures: ProviderFailures) -> None:
        self.resources = resources
        self.failures = failures
        self._chargers: ChargerByIdLoader | None = None
        self._receipts: ReceiptBySessionLoader | None = None

    @property
    def charger_by_id(self) -> ChargerByIdLoader:
        if self._chargers is None:
            self._chargers = ChargerByIdLoader(self.resources, self.failures)
        return self._chargers

    @property
    def receipt_by_session(self) -> ReceiptBySessionLoader:
        if self._receipts is None:
            self._receipts = ReceiptBySessionLoader(self.resources, self.failures)
        return self._receipts
