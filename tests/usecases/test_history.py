"""A history provider's page: its sessions get their records from a read of the driver's
index made while the provider answers; only sessions beyond that read are read by key
after the answer; a failing provider is reported, the others still listed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
import redis.asyncio as aioredis

from bff.domain.model import ChargingSession, Provider, SessionFilter, SessionPage, SessionStatus
from bff.errors import ProviderUnavailable
from bff.resources import Resources
from bff.store.records import SessionRecord, SessionRecords
from bff.usecases.history import session_history
from bff.usecases.partial import ProviderFailures

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def session(provider: Provider, sid: str, minutes: int) -> ChargingSession:
    started = T0 + timedelta(minutes=minutes)
    return ChargingSession(provider, sid, SessionStatus.COMPLETED, "COMPLETED", started,
                           started_at=started)  # fmt: skip


class FakeHistory:
    """A provider with a history API listing ``sessions`` (newest first); with ``after``,
    it answers only once that event is set (a provider slower than Redis)."""

    has_history = True
    claimable = True

    def __init__(
        self,
        sessions: list[ChargingSession],
        fail: Exception | None = None,
        after: asyncio.Event | None = None,
    ) -> None:
        self.sessions = sessions
        self.fail = fail
        self.after = after
        self.answered = False

    async def list_sessions(
        self, driver_id: str, cursor: str | None, limit: int, filter: SessionFilter
    ) -> SessionPage:
        if self.after is not None:
            await asyncio.wait_for(self.after.wait(), 5)
        self.answered = True
        if self.fail is not None:
            raise self.fail
        more = "next" if len(self.sessions) > limit else None  # no second page is read here
        return SessionPage(tuple(self.sessions[:limit]), more)


class CountingRecords:
    """The real records, noting which keys were read after ``adapter`` answered; ``read``
    is set once records have been read."""

    def __init__(self, records: SessionRecords, adapter: FakeHistory) -> None:
        self.records = records
        self.adapter = adapter
        self.after_answer: list[list[tuple[Provider, str]]] = []
        self.read = asyncio.Event()

    async def driver_keys(self, *args: Any, **kwargs: Any) -> list[tuple[str, float]]:
        return await self.records.driver_keys(*args, **kwargs)

    async def get_many(self, sessions: list[tuple[Provider, str]]) -> list[SessionRecord | None]:
        if self.adapter.answered:
            self.after_answer.append(sessions)
        found = await self.records.get_many(sessions)
        self.read.set()
        return found


@pytest.fixture
async def records(redis_url: str) -> AsyncIterator[SessionRecords]:
    client = aioredis.Redis.from_url(redis_url)
    yield SessionRecords(client)
    await client.aclose()


def resources(adapters: dict[Provider, Any], records: Any) -> Resources:
    settings = SimpleNamespace(provider_timeout=lambda _p: 5.0)
    return cast(Resources, SimpleNamespace(adapters=adapters, records=records, settings=settings))


async def save(records: SessionRecords, driver: str, s: ChargingSession, **extra: Any) -> None:
    await records.save(SessionRecord(provider=s.provider, session_id=s.id, driver_id=driver,
                                     created_at=s.sort_time, **extra))  # fmt: skip


async def test_listed_sessions_get_their_records_without_a_read_after_the_answer(
    records: SessionRecords,
) -> None:
    driver = f"driver-{uuid.uuid4().hex[:8]}"
    p = Provider.PLUGSURFING
    abandoned, mine, elsewhere = session(p, "a", 3), session(p, "b", 2), session(p, "c", 1)
    await save(records, driver, abandoned, abandoned_at=T0)
    await save(records, driver, mine, charger_id="EVSE-1")
    adapter = FakeHistory([abandoned, mine, elsewhere])  # "c" was started in another app
    counting = CountingRecords(records, adapter)
    adapter.after = counting.read

    page = await session_history(resources({p: adapter}, counting), driver, 20, None,
                                 SessionFilter(), ProviderFailures())  # fmt: skip

    owned = {e.owned.session.id: e.owned.record for e in page.edges}
    assert list(owned) == ["a", "b", "c"]
    assert owned["a"] is not None and owned["a"].abandoned_at == T0
    assert owned["b"] is not None and owned["b"].charger_id == "EVSE-1"
    assert owned["c"] is None
    assert counting.after_answer == [], "the driver's whole index was read while listing"


async def test_sessions_beyond_the_read_ahead_are_read_by_key(records: SessionRecords) -> None:
    driver = f"driver-{uuid.uuid4().hex[:8]}"
    p = Provider.PLUGSURFING
    # The provider lists "old" first, while the index (by creation time) holds two newer
    # records ahead of it: a page of one reads two entries ahead, not including "old".
    old, newer, newest = session(p, "old", 1), session(p, "newer", 2), session(p, "newest", 3)
    for s in (old, newer, newest):
        await save(records, driver, s, charger_id=f"EVSE-{s.id}")
    adapter = FakeHistory([old, newest, newer])
    counting = CountingRecords(records, adapter)
    adapter.after = counting.read

    page = await session_history(resources({p: adapter}, counting), driver, 1, None,
                                 SessionFilter(), ProviderFailures())  # fmt: skip

    [edge] = page.edges
    assert edge.owned.session.id == "old"
    assert edge.owned.record is not None and edge.owned.record.charger_id == "EVSE-old"
    assert counting.after_answer == [[(Provider.PLUGSURFING, "old")]]
    assert page.has_next_page


async def test_a_failing_history_provider_leaves_the_others_listed(
    records: SessionRecords,
) -> None:
    driver = f"driver-{uuid.uuid4().hex[:8]}"
    down = FakeHistory([], fail=ProviderUnavailable("plugsurfing", "plugsurfing is down"))
    up = FakeHistory([session(Provider.PLUGCHOICE, "x", 1)])
    await save(records, driver, up.sessions[0], charger_id="PC-1")
    failures = ProviderFailures()

    page = await session_history(
        resources({Provider.PLUGSURFING: down, Provider.PLUGCHOICE: up}, records),
        driver, 20, None, SessionFilter(), failures,
    )  # fmt: skip

    assert [e.owned.session.id for e in page.edges] == ["x"]
    assert page.edges[0].owned.record is not None
    assert set(failures.errors) == {Provider.PLUGSURFING}
    assert failures.errors[Provider.PLUGSURFING].code == "PROVIDER_UNAVAILABLE"
