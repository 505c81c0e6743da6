"""The Plugsurfing sandbox: the Drive API stage environment, simulated.

Mounted by :mod:`bff.sandbox.server` at ``/plugsurfing``; every path here is relative
to that. Auth is the Keycloak token endpoint of seed ``000_*`` (OAuth2 client
credentials) or the ``x-api-key`` header when an API key is configured (:mod:`.auth`).
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp

from bff.sandbox.common import (
    FaultMiddleware,
    Faults,
    SandboxClock,
    SandboxConfig,
    WebhookSender,
    control_routes,
)
from bff.sandbox.plugsurfing.auth import DriveAuth
from bff.sandbox.plugsurfing.control import plugsurfing_control_routes
from bff.sandbox.plugsurfing.drive import drive_routes
from bff.sandbox.plugsurfing.receipts import Receipts
from bff.sandbox.plugsurfing.simulation import DriveSimulation
from bff.sandbox.plugsurfing.wire import TOKEN_PATH


class PlugsurfingSandbox:
    """Simulated Drive API: chargers, sessions on the sandbox clock, webhooks, receipts."""

    def __init__(self, config: SandboxConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.clock = SandboxClock(config.speed)
        self.faults = Faults()
        self.webhooks = WebhookSender(client, config.chaos, config.seed)
        self.sim = DriveSimulation(config, self.clock, self.webhooks)
        self.auth = DriveAuth(config, self.clock)
        self.receipts = Receipts(self.sim)

    def app(self) -> ASGIApp:
        routes = [
            Route(TOKEN_PATH, self.auth.token, methods=["POST"]),
            Route("/receipts/{session_id}.pdf", self.receipts.file, methods=["GET"]),
            *drive_routes(self.sim, self.auth, self.receipts),
        ]
        if self.config.control:
            routes += [*plugsurfing_control_routes(self.sim, self.auth),
                       *control_routes(self.faults, self.reset)]
        # As Starlette middleware, FaultMiddleware sees this app's routes and counts
        # requests by path template ("GET /drive/v1/evses").
        return Starlette(
            routes=routes, middleware=[Middleware(FaultMiddleware, faults=self.faults)]
        )

    async def start(self) -> None:
        self.sim.ticker.start()

    async def aclose(self) -> None:
        await self.sim.ticker.aclose()
        await self.webhooks.aclose()

    def reset(self) -> None:
        self.sim.store.reset()
