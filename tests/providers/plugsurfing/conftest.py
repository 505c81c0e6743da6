"""Fixtures: a fresh Plugsurfing sandbox per test, mounted at /plugsurfing like in the
sandbox server, and the real adapter talking to it over ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from bff.domain.model import Provider
from bff.providers.plugsurfing.adapter import PlugsurfingAdapter
from bff.providers.registry import build_adapter
from bff.sandbox.common import SandboxConfig
from bff.sandbox.plugsurfing import PlugsurfingSandbox
from bff.settings import Settings
from tests.providers.plugsurfing.plugsurfing_support import SPEED

BASE = "http://sandbox.test/plugsurfing"


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(speed=SPEED, seed=7)


@pytest.fixture
async def sandbox(config: SandboxConfig) -> AsyncIterator[PlugsurfingSandbox]:
    async with httpx.AsyncClient() as webhook_client:
        sb = PlugsurfingSandbox(config, webhook_client)
        yield sb
        await sb.aclose()


@pytest.fixture
def transport(sandbox: PlugsurfingSandbox) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=Starlette(routes=[Mount("/plugsurfing", app=sandbox.app())]))


@pytest.fixture
def settings(config: SandboxConfig) -> Settings:
    return Settings(
        plugsurfing_client_id=config.plugsurfing_client_id,
        plugsurfing_client_secret=SecretStr(config.plugsurfing_client_secret),
        plugsurfing_api_key=None,
        plugsurfing_timeout_seconds=5.0,
        upstream_retries=1,
    )


@pytest.fixture
async def adapter(
    transport: httpx.ASGITransport, settings: Settings
) -> AsyncIterator[PlugsurfingAdapter]:
    adapter, client = build_adapter(Provider.PLUGSURFING, BASE, settings, transport=transport)
    try:
        yield adapter
    finally:
        await client.aclose()


@pytest.fixture
async def control(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client of the sandbox for ``/_control`` and raw requests."""
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client
