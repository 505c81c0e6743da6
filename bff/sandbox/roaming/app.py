"""The roaming sandbox: the platform's session API (seed 003) as a Starlette app.

Mounted at ``/roaming`` by :mod:`bff.sandbox.server`, so routes are relative. Errors are
``{"error": code, "message": ...}``: 400 invalid_request, 401 unauthorized, 404
evse_not_found / session_not_found (another user's session too), 409
evse_out_of_order / evse_occupied / smart_charging_not_supported / session_not_active /
receipt_not_available, 422 unknown_connector_type / invalid_profile.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import datetime

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bff.sandbox.common import (
    FaultMiddleware,
    Faults,
    SandboxClock,
    SandboxConfig,
    Ticker,
    WebhookSender,
    control_routes,
)
from bff.sandbox.roaming.routes import ApiError, Routes
from bff.sandbox.roaming.signing import standard_webhook_headers
from bff.sandbox.roaming.sim import SimSession, Simulator, iso
from bff.sandbox.roaming.wire import SESSION_UPDATED


class RoamingSandbox:
    """A faithful simulator of the roaming platform, with signed session webhooks.

    Control routes besides the common ones: ``POST /_control/seed {"user", "count"}``
    (completed sessions in the past, for the BFF to record) and
    ``GET /_control/sessions/{id}`` (the raw state of any user's session).
    """

    def __init__(self, config: SandboxConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.clock = SandboxClock(config.speed)
        self.faults = Faults()
        self.webhooks = WebhookSender(client, config.chaos, config.seed)
        self.sim = Simulator(self.clock, self._on_change)
        # Fine enough that a 3 sim-second phase is seen promptly at high speeds.
        interval = max(0.01, min(0.1, 0.5 / self.clock.speed))
        self.ticker = Ticker(self.sim.advance, interval, "roaming-sandbox-ticker")

    def app(self) -> ASGIApp:
        routes = Routes(self.sim, self.config.roaming_jwt_secret)
        control = [
            *control_routes(self.faults, self.reset),
            Route("/_control/seed", routes.control_seed, methods=["POST"]),
            Route("/_control/sessions/{session_id}", routes.control_session, methods=["GET"]),
        ] if self.config.control else []
        return Starlette(
            routes=[*routes.api_routes(), *control],
            # Inside Starlette, so the fault middleware sees route templates for its stats.
            middleware=[Middleware(FaultMiddleware, faults=self.faults)],
            exception_handlers={ApiError: _api_error},
        )

    def reset(self) -> None:
        self.sim.sessions.clear()

    async def start(self) -> None:
        self.ticker.start()

    async def aclose(self) -> None:
        await self.ticker.aclose()
        await self.webhooks.aclose()

    def _on_change(self, s: SimSession, at: datetime) -> None:
        base = self.config.webhook_base_url
        if base is None:
            return
        data = {**s.status_object(self.clock, at), "updated_at": iso(at)}
        secret = self.config.roaming_webhook_secret

        def headers(raw: bytes) -> Mapping[str, str]:
            webhook_id = f"msg_{uuid.uuid4().hex}"
            return standard_webhook_headers(secret, webhook_id, int(time.time()), raw)

        url = f"{base.rstrip('/')}/webhooks/roaming"
        self.webhooks.send(url, {"type": SESSION_UPDATED, "data": data}, headers)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"www-authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        {"error": exc.code, "message": exc.message}, status_code=exc.status_code, headers=headers
    )
