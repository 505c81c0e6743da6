"""Absurd values from a provider on the poll path (issue 12 item 7): a Plugchoice that
answers a live session with an energy of 1e308 kWh, a cost of 10^30 and a start in year 1
is polled by a running BFF; the poller keeps going, logs the field, and the snapshot keeps
the last good state until a good answer comes again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bff.domain.model import ChargingSession, Provider
from bff.live.snapshots import SnapshotStore
from bff.providers.plugchoice.adapter import TOKEN_KEY
from bff.providers.plugchoice.mappers import session_id_for_token
from bff.settings import Settings
from bff.store.records import SessionRecord, SessionRecords
from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.hardening.support import local_http
from tests.redis_server import RedisServer
from tests.support import Server, wait_for

TOKEN = "pc-token-absurd"
SESSION = session_id_for_token(TOKEN)


def answer(energy_kwh: Any, cost: Any, started: str = "2026-03-30T08:00:00Z") -> dict[str, Any]:
    return {"data": {
        "status": "charging", "connector_id": 1, "charger": {"public_code": "UT-0001"},
        "pricing": {"currency": "EUR", "price_per_kwh": 35}, "amount_authorized": 5000,
        "energy_kwh": energy_kwh, "cost_amount": cost, "charging_started_at": started}}


class FakePlugchoice:
    """``GET /sessions/{token}`` answers ``self.body``; counts the answers per body."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = answer("1.500", 53)
        self.served: dict[str, int] = {}

    async def show(self, request: Request) -> JSONResponse:
        assert request.path_params["token"] == TOKEN
        key = str(self.body["data"]["energy_kwh"])
        self.served[key] = self.served.get(key, 0) + 1
        return JSONResponse(self.body)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/v3/public-charging/sessions/{token}", self.show)])


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakePlugchoice, str]]:
    provider = FakePlugchoice()
    async with local_http(provider.app()) as url:
        yield provider, url


async def test_a_poll_of_absurd_values_writes_nothing_and_keeps_polling(
    fake: tuple[FakePlugchoice, str], figures: Figures
) -> None:
    provider, url = fake
    own = RedisServer()
    own.start()
    rds = aioredis.Redis.from_url(own.url)
    server = Server({**FAST_ENV, "BFF_REDIS_URL": own.url, "BFF_PROVIDERS": "live",
                     "BFF_JWT_SECRET": "test-provider-values-jwt-secret-0123456789",
                     "BFF_PLUGCHOICE_URL": url, "BFF_POLL_INTERVAL_SECONDS": "0.2",
                     "BFF_POLL_BUDGETS": '{"PLUGCHOICE": 6000}'})
    try:
        await SessionRecords(rds).save(SessionRecord(
            provider=Provider.PLUGCHOICE, session_id=SESSION, driver_id="d-absurd",
            charger_id="UT-0001", connector_id="1", extra={TOKEN_KEY: TOKEN}))
        store = SnapshotStore(rds)
        await store.mark_due(Provider.PLUGCHOICE, SESSION, "d-absurd")  # live: poll it
        server.start()

        async def energy() -> int | None:
            got: ChargingSession | None = await store.get(Provider.PLUGCHOICE, SESSION)
            return got.energy.watt_hours if got and got.energy else None

        await wait_for(lambda: _is(energy, 1500), 20, 0.05, "the first good poll")
        provider.body = answer("1e308", 10**30, "0001-01-01T00:00:00Z")
        await wait_for(lambda: _served(provider, "1e308", 3), 20, 0.05, "three absurd polls")
        assert await energy() == 1500, "the snapshot kept the last good state"
        provider.body = answer("2.250", 79)
        await wait_for(lambda: _is(energy, 2250), 20, 0.05, "a good poll after the absurd ones")
        # Plugsurfing is not in use here, so its shipped webhook secret was allowed: its
        # webhooks must not be read at all (a forged one would carry that secret).
        async with httpx.AsyncClient(base_url=server.url) as http:
            forged = await http.post("/webhooks/plugsurfing", content=b"{}", headers={
                "Authorization": Settings().plugsurfing_webhook_auth.get_secret_value(),
                "Content-Type": "application/json"})
        assert forged.status_code == 404, forged.text
    finally:
        server.stop()
        await rds.aclose()
        own.close()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert "unreadable PLUGCHOICE answer (SessionEnvelope): data.energy_kwh" in log, log[-2000:]
    figures(f"Plugchoice poll answering energy 1e308 kWh, cost 10^30, start in year 1: "
            f"{provider.served['1e308']} absurd polls, snapshot kept 1500 Wh, a log line "
            "names data.energy_kwh, the poller went on (next good poll recorded 2250 Wh)")


async def _is(read: Any, expected: int) -> bool:
    return bool(await read() == expected)


async def _served(provider: FakePlugchoice, key: str, times: int) -> bool:
    return provider.served.get(key, 0) >= times
