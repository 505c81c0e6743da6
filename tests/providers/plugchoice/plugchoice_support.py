"""Test helpers: a sandbox, an adapter over ASGI to it, and polling with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from bff.domain.model import Charger, ChargingSession, Provider, SessionRef
from bff.providers.base import StartRequest
from bff.providers.registry import build_adapter
from bff.sandbox.common import SandboxConfig
from bff.sandbox.plugchoice import PlugchoiceSandbox
from bff.settings import Settings

T = TypeVar("T")

SPEED = 100.0  # 60 sim s of rate-limit window = 0.6 s; confirm -> charging in ~30 ms


async def wait_for(
    fetch: Callable[[], Awaitable[T]],
    ok: Callable[[T], bool],
    within: float = 5.0,
    interval: float = 0.05,
) -> T:
    """Poll ``fetch`` until ``ok`` holds, failing after ``within`` real seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await fetch()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(interval)


class PlugchoiceRig:
    """A sandbox, its ASGI transport, an adapter over it and a control client."""

    wait_for = staticmethod(wait_for)

    def __init__(self, speed: float = SPEED, retries: int = 2) -> None:
        self.sandbox = PlugchoiceSandbox(SandboxConfig(speed=speed, seed=7), httpx.AsyncClient())
        self.transport = httpx.ASGITransport(app=self.sandbox.app())
        settings = Settings(upstream_retries=retries, plugchoice_timeout_seconds=5.0)
        self.adapter, self.http = build_adapter(
            Provider.PLUGCHOICE, "http://plugchoice.test", settings, transport=self.transport
        )
        self.control = httpx.AsyncClient(
            transport=self.transport, base_url="http://plugchoice.test"
        )

    async def charger(self, code: str) -> Charger:
        return (await self.adapter.get_chargers([code]))[code]

    async def start(
        self, code: str = "UTR01", connector: str = "1", email: str | None = "driver@example.nl"
    ) -> tuple[ChargingSession, SessionRef]:
        request = StartRequest("driver-1", await self.charger(code), connector, email=email)
        session, extra = await self.adapter.start_session(request)
        return session, SessionRef("driver-1", session.id, extra)

    async def session(self, ref: SessionRef) -> ChargingSession:
        found = await self.adapter.get_session(ref)
        assert found is not None
        return found

    async def until(self, ref: SessionRef, provider_status: str) -> ChargingSession:
        return await wait_for(
            lambda: self.session(ref), lambda s: s.provider_status == provider_status
        )

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.control.post(path, json=body)

    async def stats(self) -> dict[str, int]:
        result: dict[str, int] = (await self.control.get("/_control/stats")).json()
        return result

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.control.aclose()
        await self.sandbox.aclose()
        await self.sandbox.client.aclose()
