"""Pollers: who gets polled, by one replica at a time, within the provider's budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bff.domain.model import Provider
from bff.domain.model import SessionStatus as S
from bff.errors import ProviderUnavailable
from bff.live.hub import LiveHub
from bff.live.pollers import Poller
from bff.live.snapshots import SnapshotStore
from bff.settings import Settings
from bff.store import keys
from bff.store.records import SessionRecords
from tests.live.conftest import LIVE_REDIS_URL
from tests.live.support import FakeAdapter, session

PC, PS = Provider.PLUGCHOICE, Provider.PLUGSURFING


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def adapters() -> dict[Provider, FakeAdapter]:
    return {PC: FakeAdapter(PC), PS: FakeAdapter(PS)}


@pytest.fixture
async def hub(
    rds: Redis, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> AsyncIterator[LiveHub]:
    settings = Settings(
        redis_url=LIVE_REDIS_URL,
        poll_interval_seconds=1,
        quiet_poll_after_seconds=30,
        poll_lease_seconds=10,
    )
    store = SnapshotStore(rds, clock=clock)
    h = LiveHub(settings, rds, SessionRecords(rds), dict(adapters), store=store)
    yield h  # not started: the tests drive the poller round by round


def replica(hub: LiveHub, budgets: dict[Provider, int] | None = None) -> Poller:
    """Another replica's poller on the same Redis."""
    return Poller(
        hub.settings, hub.redis, hub.store, hub.refresh, [PC, PS], budgets=budgets or {PC: 20}
    )


async def live(hub: LiveHub, provider: Provider, sid: str, driver: str = "d1") -> None:
    await hub.record(session(S.CHARGING, 0, id=sid, provider=provider), driver)


async def test_plugchoice_is_polled_every_round_by_one_replica(
    hub: LiveHub, adapters: dict[Provider, FakeAdapter]
) -> None:
    await live(hub, PC, "p1")
    adapters[PC].put("d1", session(S.CHARGING, 5, id="p1", provider=PC, wh=10))
    assert await hub.poller.poll_once() == [(PC, "p1")]
    assert await replica(hub).poll_once() == []  # the lease holds it for this interval
    assert [c.driver_id for c in adapters[PC].calls] == ["d1"]
    snap = await hub.snapshot(PC, "p1")
    assert snap is not None and snap.observed_at == session(S.CHARGING, 5).observed_at


async def test_the_budget_is_shared_by_all_replicas(hub: LiveHub) -> None:
    for i in range(8):
        await live(hub, PC, f"p{i}")
    a, b = replica(hub, {PC: 5}), replica(hub, {PC: 5})
    first, second = await a.poll_once(), await b.poll_once()
    assert len(first) == 5
    assert second == []  # the window is full for everyone
    assert len({sid for _, sid in first}) == 5


async def test_other_providers_are_polled_only_when_quiet(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    await live(hub, PS, "s1")
    assert await hub.poller.poll_once() == []
    clock.now += 31
    adapters[PS].put("d1", session(S.STARTING, 40, id="s1"))  # STARTING for long: still watched
    assert await hub.poller.poll_once() == [(PS, "s1")]
    # Polled just now: not quiet any more.
    assert await hub.store.live_sessions(PS, quiet_for=30) == []


async def test_polling_stops_once_final(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    await live(hub, PC, "p1")
    adapters[PC].put("d1", session(S.COMPLETED, 50, id="p1", provider=PC, cost_minor=100))
    assert await hub.poller.poll_once() == [(PC, "p1")]
    await hub.redis.delete(keys.poll_lease(keys.session_key(PC, "p1")))
    assert await hub.poller.poll_once() == []
    assert await hub.store.live_sessions(PC) == []


async def test_a_failing_provider_is_not_hammered(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    await live(hub, PS, "s1")
    clock.now += 60
    adapters[PS].fail = ProviderUnavailable("PLUGSURFING", "down")
    assert await hub.poller.poll_once() == [(PS, "s1")]
    await hub.redis.delete(keys.poll_lease(keys.session_key(PS, "s1")))
    assert await hub.poller.poll_once() == []  # touched: quiet again only in 30 s
    assert [sid for sid, _ in await hub.store.live_sessions(PS)] == ["s1"]  # still live


async def test_a_session_nobody_knows_leaves_the_live_set(hub: LiveHub, clock: Clock) -> None:
    await hub.store.mark_due(PS, "ghost", None)
    assert await hub.poller.poll_once() == [(PS, "ghost")]
    assert await hub.store.live_sessions(PS) == []


async def test_a_long_dead_session_is_given_up(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    await hub.record(session(S.FAILED, 0, id="f"), "d1")  # soft: watched for a while
    clock.now += hub.poller.give_up_seconds + 1
    assert await hub.poller.poll_once() == [(PS, "f")]
    assert adapters[PS].calls == []
    assert await hub.store.live_sessions(PS) == []


def test_poll_budgets_from_settings_override_the_defaults(rds: Redis) -> None:
    settings = Settings(redis_url=LIVE_REDIS_URL, poll_budgets={Provider.PLUGSURFING: 7})

    async def refresh(provider: Provider, sid: str, driver: str | None) -> None:
        return None

    poller = Poller(settings, rds, SnapshotStore(rds), refresh, [Provider.PLUGSURFING])
    assert poller.budgets[Provider.PLUGSURFING] == 7
    assert poller.budgets[Provider.PLUGCHOICE] == 20  # the default stays
