"""The Plugsurfing sandbox: the Drive API stage environment, simulated.

Mounted by :mod:`bff.sandbox.server` at ``/plugsurfing``; every path here is relative
to that. Auth is the Keycloak token endpoint of seed ``000_*`` (OAuth2 client
credentials) or the ``x-api-key`` header when an API key is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import random
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bff.providers.plugsurfing.constants import TOKEN_PATH
from bff.sandbox.common import (
    FaultMiddleware,
    Faults,
    SandboxClock,
    SandboxConfig,
    WebhookSender,
    control_routes,
)
from bff.sandbox.plugsurfing.control import plugsurfing_control_routes
from bff.sandbox.plugsurfing.drive import drive_routes, error
from bff.sandbox.plugsurfing.render import receipt_pdf
from bff.sandbox.plugsurfing.state import Event, SessionStore, iso

log = logging.getLogger(__name__)

TOKEN_TTL_SECONDS = 300  # real seconds, like Keycloak's default access token lifespan
RECEIPT_TTL_SIM_SECONDS = 900.0

Handler = Callable[[Request], Awaitable[Response]]


class PlugsurfingSandbox:
    """Simulated Drive API: chargers, sessions on the sandbox clock, webhooks, receipts."""

    def __init__(self, config: SandboxConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.clock = SandboxClock(config.speed)
        self.rng = random.Random(config.seed)
        self.store = SessionStore(self.clock, self.rng)
        self.faults = Faults()
        self.webhooks = WebhookSender(client, config.chaos, config.seed)
        self.tokens: dict[str, datetime] = {}  # access token -> expiry (real time)
        self.receipt_ttl_sim_seconds = RECEIPT_TTL_SIM_SECONDS
        self._signing_key = secrets.token_bytes(32)
        self._ticker: asyncio.Task[None] | None = None

    def app(self) -> ASGIApp:
        routes = [
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route("/receipts/{session_id}.pdf", self._receipt_file, methods=["GET"]),
            *drive_routes(self),
            *plugsurfing_control_routes(self),
            *control_routes(self.faults, self.reset),
        ]
        # As Starlette middleware, FaultMiddleware sees this app's routes and counts
        # requests by path template ("GET /drive/v1/evses").
        return Starlette(
            routes=routes, middleware=[Middleware(FaultMiddleware, faults=self.faults)]
        )

    async def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())

    async def aclose(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.webhooks.aclose()

    def reset(self) -> None:
        self.store.reset()

    async def _tick(self) -> None:
        interval = min(0.25, max(0.01, 0.5 / self.config.speed))
        while True:
            await asyncio.sleep(interval)
            try:
                self.advance()
            except Exception:  # a bug in one tick must not stop the simulation
                log.exception("plugsurfing sandbox tick failed")

    def advance(self) -> None:
        """Apply every step that is due and send its webhooks."""
        for event in self.store.advance(self.clock.now()):
            self.notify(event)

    def notify(self, event: Event) -> None:
        base = self.config.webhook_base_url
        url = f"{base.rstrip('/')}/webhooks/plugsurfing" if base else None
        body = {
            "event": event.name,
            "payload": {
                "userId": event.user_id,
                "sessionId": event.session_id,
                "timestamp": iso(event.at),
            },
        }
        self.webhooks.send(url, body, {"Authorization": self.config.plugsurfing_webhook_auth})

    # Auth

    def authorized(self, request: Request) -> bool:
        key, expected_key = request.headers.get("x-api-key"), self.config.plugsurfing_api_key
        if key and expected_key and hmac.compare_digest(key.encode(), expected_key.encode()):
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        return expires is not None and expires > self.clock.now()

    def guarded(self, handler: Handler) -> Handler:
        """401 without valid auth; otherwise bring the simulation up to date first."""

        async def guarded_handler(request: Request) -> Response:
            if not self.authorized(request):
                return error(401, "UNAUTHORIZED", "missing or invalid credentials")
            self.advance()
            return await handler(request)

        return guarded_handler

    async def _token(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))

        def field(name: str) -> str:
            return (form.get(name) or [""])[0]

        if field("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        ok_id = hmac.compare_digest(field("client_id"), self.config.plugsurfing_client_id)
        ok_secret = hmac.compare_digest(
            field("client_secret").encode(), self.config.plugsurfing_client_secret.encode()
        )
        if not (ok_id and ok_secret):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Invalid client credentials"},
                status_code=401,
            )
        now = self.clock.now()
        self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
        token = secrets.token_urlsafe(32)
        self.tokens[token] = now + timedelta(seconds=TOKEN_TTL_SECONDS)
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": TOKEN_TTL_SECONDS,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "profile email",
            }
        )

    # Receipts: a signed URL served by the sandbox itself, refused once expired.

    def _sign(self, session_id: str, expires_ms: int) -> str:
        message = f"{session_id}.{expires_ms}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def receipt_url(self, request: Request, session_id: str) -> tuple[str, datetime]:
        ttl = self.clock.real_seconds(self.receipt_ttl_sim_seconds)
        expires_ms = math.ceil((self.clock.now().timestamp() + ttl) * 1000)
        base = f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"
        query = f"expires={expires_ms}&signature={self._sign(session_id, expires_ms)}"
        url = f"{base}/receipts/{quote(session_id, safe='')}.pdf?{query}"
        return url, datetime.fromtimestamp(expires_ms / 1000, UTC)

    async def _receipt_file(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        expires, signature = (request.query_params.get(k, "") for k in ("expires", "signature"))
        if not expires.isdigit() or not hmac.compare_digest(
            signature.encode(), self._sign(session_id, int(expires)).encode()
        ):
            return error(403, "INVALID_SIGNATURE", "the receipt URL is not valid")
        if int(expires) < self.clock.now().timestamp() * 1000:
            return error(403, "URL_EXPIRED", "the receipt URL has expired")
        self.advance()
        s = self.store.sessions.get(session_id)
        if s is None or s.price_minor is None:
            return error(404, "RECEIPT_NOT_AVAILABLE", "no receipt for this session")
        return Response(receipt_pdf(s), media_type="application/pdf")
