"""The sandbox server as the BFF runs it (all three simulators, :class:`Sandboxes`), on
uvicorn over real HTTP, with a stand-in for the BFF's webhook routes that keeps what the
simulators post to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.sandbox.common import SandboxConfig
from bff.sandbox.server import Sandboxes
from tests.hardening.support import local_http

SPEED = 200.0  # a whole Plugsurfing lifecycle in about a tenth of a second


@dataclass(frozen=True)
class Webhook:
    provider: str
    headers: dict[str, str]
    body: bytes


@dataclass
class SandboxServer:
    url: str
    config: SandboxConfig
    webhooks: list[Webhook] = field(default_factory=list)

    def hooks(self, provider: str) -> list[Webhook]:
        return [w for w in self.webhooks if w.provider == provider]


@pytest.fixture
async def sandbox_server() -> AsyncIterator[SandboxServer]:
    config = SandboxConfig(speed=SPEED, seed=3)
    sandboxes = Sandboxes(config)
    received: list[Webhook] = []

    async def webhook(request: Request) -> Response:
        provider = request.path_params["provider"]
        received.append(Webhook(provider, dict(request.headers), await request.body()))
        return JSONResponse({"ok": True})

    routes = [*sandboxes.mounts(), Route("/webhooks/{provider}", webhook, methods=["POST"])]
    async with local_http(Starlette(routes=routes)) as url:
        config.webhook_base_url = url  # read at each send: known once the port is
        await sandboxes.start()
        try:
            yield SandboxServer(url, config, received)
        finally:
            await sandboxes.aclose()
