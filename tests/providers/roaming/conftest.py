"""The roaming sandbox mounted at ``/roaming`` (as the sandbox server does), the adapter
pointed at it over ``httpx.ASGITransport``, and a BFF stand-in that verifies and keeps
the sandbox's webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from bff.domain.model import Provider
from bff.providers.registry import build_adapter
from bff.sandbox.common import SandboxConfig
from bff.sandbox.roaming import RoamingSandbox
from bff.settings import Settings
from tests.providers.roaming.roaming_support import SANDBOX_URL, SPEED, Rig, WebhookInbox


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    config = SandboxConfig(
        speed=SPEED,
        webhook_base_url="http://bff.test",
        roaming_jwt_secret="roaming-test-jwt-secret-of-32-bytes-or-more",
        seed=1,
    )
    inbox = WebhookInbox(config.roaming_webhook_secret)
    hooks_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=inbox.app()))
    sandbox = RoamingSandbox(config, hooks_client)
    outer = Starlette(routes=[Mount("/roaming", app=sandbox.app())])
    transport = httpx.ASGITransport(app=outer)
    settings = Settings(upstream_retries=2, roaming_jwt_secret=SecretStr(config.roaming_jwt_secret))
    adapter, client = build_adapter(Provider.ROAMING, SANDBOX_URL, settings, transport=transport)
    control = httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL)
    await sandbox.start()
    try:
        yield Rig(sandbox, adapter, control, inbox, settings)
    finally:
        await sandbox.aclose()
        await client.aclose()
        await control.aclose()
        await hooks_client.aclose()
