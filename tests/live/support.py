"""Test helpers of the push path: sessions, a fake adapter, bounded waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bff.domain.model import (
    Charger,
    ChargingProfile,
    ChargingSession,
    Cost,
    Energy,
    GeoPoint,
    Provider,
    Receipt,
    SessionFilter,
    SessionPage,
    SessionRef,
    SessionStatus,
)
from bff.domain.money import Money
from bff.providers.base import StartRequest

T0 = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def session(
    status: SessionStatus = SessionStatus.CHARGING,
    t: float = 0,
    *,
    id: str = "s1",
    provider: Provider = Provider.PLUGSURFING,
    wh: int | None = None,
    word: str | None = None,
    cost_minor: int | None = None,
) -> ChargingSession:
    return ChargingSession(
        provider=provider,
        id=id,
        status=status,
        provider_status=word or status.value,
        observed_at=at(t),
        energy=None if wh is None else Energy(wh),
        cost=None if cost_minor is None else Cost(Money(cost_minor, "EUR"), estimated=True),
    )


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], within: float = 5.0, what: str = ""
) -> None:
    """Poll ``predicate`` until true, failing after ``within`` seconds (never a fixed sleep)."""
    deadline = time.monotonic() + within
    while True:
        got = predicate()
        if not isinstance(got, bool):
            got = await got
        if got:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class FakeAdapter:
    """A ProviderAdapter whose ``get_session`` answers from a dict the test controls."""

    has_history = True
    claimable = True

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.sessions: dict[tuple[str, str], ChargingSession] = {}
        self.calls: list[SessionRef] = []
        self.fail: Exception | None = None

    def put(self, driver_id: str, s: ChargingSession) -> None:
        self.sessions[(driver_id, s.id)] = s

    async def get_session(self, ref: SessionRef) -> ChargingSession | None:
        self.calls.append(ref)
        if self.fail is not None:
            raise self.fail
        return self.sessions.get((ref.driver_id, ref.session_id))

    async def search_chargers(
        self, near: GeoPoint, radius_meters: int, limit: int
    ) -> list[Charger]:
        raise NotImplementedError

    async def get_chargers(self, charger_ids: Sequence[str]) -> dict[str, Charger]:
        raise NotImplementedError

    async def list_sessions(
        self, driver_id: str, cursor: str | None, limit: int, filter: SessionFilter
    ) -> SessionPage:
        raise NotImplementedError

    async def start_session(self, request: StartRequest) -> tuple[ChargingSession, dict[str, str]]:
        raise NotImplementedError

    async def stop_session(self, ref: SessionRef) -> ChargingSession:
        raise NotImplementedError

    async def confirm_payment(self, ref: SessionRef) -> ChargingSession:
        raise NotImplementedError

    async def retry_payment(self, ref: SessionRef) -> ChargingSession:
        raise NotImplementedError

    async def set_charging_profile(
        self, ref: SessionRef, profile: ChargingProfile
    ) -> ChargingProfile:
        raise NotImplementedError

    async def clear_charging_profile(self, ref: SessionRef) -> None:
        raise NotImplementedError

    async def get_receipt(self, ref: SessionRef) -> Receipt:
        raise NotImplementedError


__all__ = ["T0", "FakeAdapter", "at", "replace", "session", "wait_for"]
