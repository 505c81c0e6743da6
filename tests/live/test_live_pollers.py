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
from bff.live.watchers import Watchers
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


# -- demand-driven freshness (issue 14): watched sessions, every replica's watchers ------


def watchers(hub: LiveHub, clock: Clock, replica: str) -> Watchers:
    """A replica's watchers on the same Redis (not started: the tests flush them)."""
    return Watchers(hub.redis, 15, clock=clock, replica=replica)


def polling(hub: LiveHub, w: Watchers, budgets: dict[Provider, int] | None = None) -> Poller:
    return Poller(hub.settings, hub.redis, hub.store, hub.refresh, [PC, PS],
                  budgets=budgets or {}, watchers=w)  # fmt: skip


async def free_leases(hub: LiveHub, provider: Provider, *sids: str) -> None:
    await hub.redis.delete(*(keys.poll_lease(keys.session_key(provider, s)) for s in sids))


async def test_a_watched_session_is_polled_every_watched_interval_an_unwatched_one_is_not(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    for sid in ("w", "u"):
        await live(hub, PS, sid)
        adapters[PS].put("d1", session(S.CHARGING, 5, id=sid, wh=10))
    w = watchers(hub, clock, "a")
    w.add(PS, "w")
    await w.flush()
    poller = polling(hub, w)
    clock.now += 5
    assert await poller.poll_once() == [(PS, "w")]  # "u" was heard of 5 s ago: not quiet
    # Polled just now: not before the next watched interval, here or elsewhere (its lease
    # keeps other replicas off it for 0.8 of that interval too).
    assert await poller.poll_once() == []
    clock.now += 3
    assert await polling(hub, w).poll_once() == []
    assert 0 < await hub.redis.pttl(keys.poll_lease(keys.session_key(PS, "w"))) <= 4000
    await free_leases(hub, PS, "w")
    clock.now += 2
    assert await poller.poll_once() == [(PS, "w")]
    assert poller.polls[(PS, "watched")] == 2 and poller.watched[PS] == 1
    # Nobody watches it any more: back on the quiet interval, like "u".
    w.remove(PS, "w")
    await w.flush()
    await free_leases(hub, PS, "w")
    clock.now += 5
    assert await poller.poll_once() == []
    clock.now += 30
    assert sorted(await poller.poll_once()) == [(PS, "u"), (PS, "w")]
    assert poller.polls[(PS, "quiet")] == 2


async def test_watchers_of_any_replica_count_and_a_crashed_replicas_expire(
    hub: LiveHub, clock: Clock
) -> None:
    a, b = watchers(hub, clock, "a"), watchers(hub, clock, "b")
    a.add(PS, "s1")
    a.add(PS, "s1")  # two feeds on one replica: one watch
    clock.now += 2
    b.add(PS, "s1")
    b.add(PS, "odd:{id}")
    await a.flush()
    await b.flush()
    watched = await a.watched(PS)
    assert watched == {"s1": clock.now - 2, "odd:{id}": clock.now}  # the earliest watch
    a.remove(PS, "s1")
    await a.flush()
    assert set(await a.watched(PS)) == {"s1", "odd:{id}"}  # "b" still watches it
    a.remove(PS, "s1")
    await a.flush()
    # "b" crashes: nothing renews its watches, and they are gone after the expiry.
    clock.now += 14
    assert set(await a.watched(PS)) == {"s1", "odd:{id}"}
    clock.now += 2
    assert await a.watched(PS) == {}
    await a.flush(renew=True)  # a live replica's renewal also removes the expired members
    assert await hub.redis.zcard(keys.watchers(PS)) == 0


async def test_a_renewal_keeps_a_watch_alive(hub: LiveHub, clock: Clock) -> None:
    a = watchers(hub, clock, "a")
    a.add(PS, "s1")
    await a.flush()
    for _ in range(4):
        clock.now += 10
        await a.flush(renew=True)
    assert set(await a.watched(PS)) == {"s1"}
    assert 0 < await hub.redis.pttl(keys.watchers(PS)) <= 16_000
    await a.aclose()  # a replica that stops leaves no watcher behind
    assert await a.watched(PS) == {}


async def test_when_the_budget_is_short_the_longest_waiting_watched_go_first(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    w = watchers(hub, clock, "a")
    for sid in ["s0", "s1", "s2", "s3"]:
        await live(hub, PS, sid)  # heard of at the same time
        adapters[PS].put("d1", session(S.CHARGING, 1, id=sid, wh=10))
        clock.now += 1
        w.add(PS, sid)  # s0 watched longest
    await live(hub, PS, "unwatched")
    await w.flush()
    poller, other = polling(hub, w, {PS: 2}), polling(hub, w, {PS: 2})
    clock.now += 60
    assert await poller.poll_once() == [(PS, "s0"), (PS, "s1")]
    assert await other.poll_once() == []  # one budget for every replica
    assert poller.deferred[PS] == 3 and poller.budget_used[PS] == 2
    await hub.redis.delete(keys.poll_budget(PS))
    await free_leases(hub, PS, "s0", "s1")
    # s0 and s1 have a fresh value now: s2 and s3 have waited longest.
    assert await other.poll_once() == [(PS, "s2"), (PS, "s3")]


async def test_a_driver_feed_watches_their_moving_sessions(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    await hub.broker.start()
    try:
        await hub.record(session(S.CHARGING, 0, id="c"), "d1")
        await hub.record(session(S.FAILED, 0, id="f"), "d1")
        async with hub.watch_driver("d1") as snaps:
            seen = {(await anext(snaps)).session.id for _ in range(2)}
            assert seen == {"c", "f"}
            assert hub.watchers.watching(PS, "c") and not hub.watchers.watching(PS, "f")
            await hub.record(session(S.COMPLETED, 9, id="c", cost_minor=10), "d1")
            assert (await anext(snaps)).session.status is S.COMPLETED
            assert not hub.watchers.watching(PS, "c")
            await hub.record(session(S.CHARGING, 0, id="n"), "d1")  # started later
            assert (await anext(snaps)).session.id == "n"
            assert hub.watchers.watching(PS, "n")
        assert hub.watchers.count() == 0
        async with hub.watch_session(PS, "c"):
            assert hub.watchers.watching(PS, "c")
        assert hub.watchers.count() == 0
    finally:
        await hub.broker.aclose()


async def test_unwatched_sessions_leave_the_watched_ones_their_share_of_the_budget(
    hub: LiveHub, clock: Clock, adapters: dict[Provider, FakeAdapter]
) -> None:
    w = watchers(hub, clock, "a")
    for i in range(12):
        await live(hub, PS, f"s{i}")
        adapters[PS].put("d1", session(S.CHARGING, 1, id=f"s{i}", wh=10))
    clock.now += 60  # all quiet
    w.add(PS, "s10")
    w.add(PS, "s11")
    await w.flush()
    # 2 watched every 5 s need 24 of the 30 a minute: the 10 unwatched get 6 less those 2.
    polled = await polling(hub, w, {PS: 30}).poll_once()
    assert polled[:2] == [(PS, "s10"), (PS, "s11")]
    assert len(polled) == 6
