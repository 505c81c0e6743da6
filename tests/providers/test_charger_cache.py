"""The in-process charger cache: expiry on an injected clock, single flight, errors and
unknown ids not kept, the size bound, and the loader's PROVIDER_UNAVAILABLE."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest

from bff.domain.model import Charger, ChargerStatus, GeoPoint, Provider
from bff.errors import ProviderUnavailable
from bff.graphql.schema.loaders import ChargerByIdLoader
from bff.providers.base import ProviderAdapter
from bff.providers.charger_cache import ChargerCache
from bff.resources import Resources
from bff.usecases.partial import ProviderFailures

P = Provider.PLUGSURFING
KNOWN = ("A", "B", "C", "D")


def charger(cid: str, status: ChargerStatus = ChargerStatus.AVAILABLE) -> Charger:
    return Charger(P, cid, None, f"charger {cid}", GeoPoint(52.0, 21.0), status, True, False, ())


class FakeAdapter:
    """``get_chargers`` over a table, recording each call; ``gate`` (when set) holds calls
    until it is set, ``fail`` makes them raise."""

    def __init__(self) -> None:
        self.table = {cid: charger(cid) for cid in KNOWN}
        self.calls: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail: Exception | None = None

    async def get_chargers(self, charger_ids: Sequence[str]) -> dict[str, Charger]:
        self.calls.append(list(charger_ids))
        self.entered.set()
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), 5)
        if self.fail is not None:
            raise self.fail
        return {cid: self.table[cid] for cid in charger_ids if cid in self.table}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_of(
    adapter: FakeAdapter, ttl: float = 15.0, size: int = 100, clock: Clock | None = None
) -> ChargerCache:
    adapters = cast(dict[Provider, ProviderAdapter], {P: adapter})
    return ChargerCache(adapters, ttl, size, clock or Clock())


async def test_a_charger_is_kept_until_its_time_is_up() -> None:
    adapter, clock = FakeAdapter(), Clock()
    cache = cache_of(adapter, ttl=15, clock=clock)
    first = await cache.get(P, ["A"])
    adapter.table["A"] = charger("A", ChargerStatus.OCCUPIED)
    clock.now += 14.9
    assert await cache.get(P, ["A"]) == first and len(adapter.calls) == 1
    clock.now += 0.1
    again = await cache.get(P, ["A"])
    assert again["A"].status is ChargerStatus.OCCUPIED and len(adapter.calls) == 2


async def test_only_the_missing_ids_are_asked_for() -> None:
    adapter = FakeAdapter()
    cache = cache_of(adapter)
    await cache.get(P, ["A", "B"])
    found = await cache.get(P, ["B", "C", "A", "C"])
    assert set(found) == {"A", "B", "C"}
    assert adapter.calls == [["A", "B"], ["C"]]


async def test_unknown_ids_are_not_kept() -> None:
    adapter = FakeAdapter()
    cache = cache_of(adapter)
    assert await cache.get(P, ["X"]) == {}
    adapter.table["X"] = charger("X")
    assert set(await cache.get(P, ["X"])) == {"X"}
    assert adapter.calls == [["X"], ["X"]]


async def test_concurrent_misses_share_one_call() -> None:
    adapter = FakeAdapter()
    adapter.gate = asyncio.Event()
    cache = cache_of(adapter)
    first = asyncio.ensure_future(cache.get(P, ["A", "B"]))
    await asyncio.wait_for(adapter.entered.wait(), 5)
    second = asyncio.ensure_future(cache.get(P, ["B"]))
    third = asyncio.ensure_future(cache.get(P, ["A", "C"]))
    await asyncio.sleep(0)  # both are now waiting on the call in flight (or their own)
    adapter.gate.set()
    a, b, c = await asyncio.wait_for(asyncio.gather(first, second, third), 5)
    assert set(a) == {"A", "B"} and set(b) == {"B"} and set(c) == {"A", "C"}
    assert a["B"] is b["B"] and a["A"] is c["A"]
    assert adapter.calls == [["A", "B"], ["C"]], "B and A were not asked for twice"


async def test_a_failed_call_reaches_every_waiter_and_is_not_kept() -> None:
    adapter = FakeAdapter()
    adapter.gate = asyncio.Event()
    adapter.fail = ProviderUnavailable("PLUGSURFING", "plugsurfing is unavailable")
    cache = cache_of(adapter)
    waiters = [asyncio.ensure_future(cache.get(P, ["A"])) for _ in range(3)]
    await asyncio.wait_for(adapter.entered.wait(), 5)
    adapter.gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 5)
    assert all(isinstance(o, ProviderUnavailable) for o in outcomes), outcomes
    assert len(adapter.calls) == 1
    adapter.fail = None
    assert set(await cache.get(P, ["A"])) == {"A"} and len(adapter.calls) == 2


async def test_a_waiter_going_away_does_not_cancel_the_shared_call() -> None:
    adapter = FakeAdapter()
    adapter.gate = asyncio.Event()
    cache = cache_of(adapter)
    leaver = asyncio.ensure_future(cache.get(P, ["A"]))
    await asyncio.wait_for(adapter.entered.wait(), 5)
    stayer = asyncio.ensure_future(cache.get(P, ["A"]))
    await asyncio.sleep(0)
    leaver.cancel()
    adapter.gate.set()
    assert set(await asyncio.wait_for(stayer, 5)) == {"A"}
    with pytest.raises(asyncio.CancelledError):
        await leaver
    assert len(adapter.calls) == 1 and cache.cached(P, "A") is not None


async def test_the_least_recently_used_goes_first_past_the_size() -> None:
    adapter = FakeAdapter()
    cache = cache_of(adapter, size=2)
    await cache.get(P, ["A"])
    await cache.get(P, ["B"])
    await cache.get(P, ["A"])  # A used again: B is now the oldest
    await cache.get(P, ["C"])
    assert len(cache) == 2
    assert cache.cached(P, "A") is not None and cache.cached(P, "B") is None
    await cache.get(P, ["B"])
    assert adapter.calls == [["A"], ["B"], ["C"], ["B"]]


async def test_zero_seconds_turns_it_off() -> None:
    adapter = FakeAdapter()
    cache = cache_of(adapter, ttl=0)
    await cache.get(P, ["A"])
    await cache.get(P, ["A", "A"])
    assert adapter.calls == [["A"], ["A"]] and len(cache) == 0


async def test_a_provider_without_an_adapter_has_no_chargers() -> None:
    cache = cache_of(FakeAdapter())
    assert await cache.get(Provider.ROAMING, ["A"]) == {}


async def test_the_loader_reports_a_failing_provider_and_answers_none() -> None:
    adapter = FakeAdapter()
    cache = cache_of(adapter)
    resources = cast(Resources, _Services(cache))
    await ChargerByIdLoader(resources, ProviderFailures()).load((P, "A"))  # now cached
    adapter.fail = ProviderUnavailable("PLUGSURFING", "plugsurfing is unavailable")
    failures = ProviderFailures()
    loader = ChargerByIdLoader(resources, failures)
    held, missing = await asyncio.gather(loader.load((P, "A")), loader.load((P, "B")))
    assert held is not None and held.id == "A", "a held charger needs no call"
    assert missing is None
    assert failures.errors[P].code == "PROVIDER_UNAVAILABLE"
    assert adapter.calls == [["A"], ["B"]]


class _Services:
    def __init__(self, chargers: ChargerCache) -> None:
        self.chargers: Any = chargers
