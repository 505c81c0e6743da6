"""Adapter <-> sandbox over real HTTP: one uvicorn server on 127.0.0.1 serves the sandbox
at ``/roaming`` and a BFF stand-in at ``/webhooks/roaming`` that the sandbox posts to."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from bff.domain.model import GeoPoint, Provider, SessionRef, SessionStatus
from bff.providers.base import StartRequest
from bff.providers.registry import build_adapter
from bff.providers.roaming.adapter import RoamingAdapter
from bff.sandbox.common import SandboxConfig
from bff.sandbox.roaming import RoamingSandbox
from bff.settings import Settings
from tests.providers.roaming.roaming_support import SPEED, WebhookInbox, eventually

JWT_SECRET = "roaming-http-test-jwt-secret-32-bytes+"


@pytest.fixture
async def live() -> AsyncIterator[tuple[RoamingAdapter, WebhookInbox]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = SandboxConfig(speed=SPEED, webhook_base_url=url, roaming_jwt_secret=JWT_SECRET)
    inbox = WebhookInbox(config.roaming_webhook_secret)
    sender = httpx.AsyncClient(timeout=5)
    sandbox = RoamingSandbox(config, sender)
    app = Starlette(routes=[Mount("/roaming", app=sandbox.app()), *inbox.app().routes])
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    settings = Settings(roaming_jwt_secret=SecretStr(JWT_SECRET))
    adapter, client = build_adapter(Provider.ROAMING, f"{url}/roaming", settings)
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), bool, within=10)
        await sandbox.start()
        yield adapter, inbox
    finally:
        await sandbox.aclose()
        await client.aclose()
        await sender.aclose()
        server.should_exit = True
        await serving
        sock.close()


async def test_lifecycle_over_http(live: tuple[RoamingAdapter, WebhookInbox]) -> None:
    adapter, inbox = live
    chargers = await adapter.search_chargers(GeoPoint(60.1699, 24.9384), 1000, 10)
    c = next(c for c in chargers if c.id == "FI-VRT-E12345")
    session, _ = await adapter.start_session(
        StartRequest("driver-h", c, c.connectors[0].id, battery_target_kwh=0.5)
    )
    ref = SessionRef("driver-h", session.id)

    async def current() -> SessionStatus | None:
        s = await adapter.get_session(ref)
        return s.status if s else None

    await eventually(current, lambda st: st is SessionStatus.COMPLETED)
    await eventually(
        lambda: asyncio.sleep(0, inbox.words(session.id)),
        lambda w: w == ["pending", "active", "completed"],
    )
    assert inbox.rejected == []
    receipt = await adapter.get_receipt(ref)
    assert receipt.available and receipt.cost is not None
    assert receipt.cost.total.amount_minor == 18  # 0.5 kWh x 0.35 EUR = 0.175 -> 0.18
