"""How the Drive API authenticates: OAuth2 client credentials at the Keycloak token
endpoint of seed ``000_*`` (``Authorization: Bearer``), or an ``x-api-key``."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bff.sandbox.common import SandboxClock, SandboxConfig
from bff.sandbox.plugsurfing.wire import error

TOKEN_TTL_SECONDS = 300  # real seconds, like Keycloak's default access token lifespan

Handler = Callable[[Request], Awaitable[Response]]


class DriveAuth:
    """Issues access tokens and checks credentials; reads the config at each request, so
    a test may switch the API key on."""

    def __init__(self, config: SandboxConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self.tokens: dict[str, datetime] = {}  # access token -> expiry (real time)

    def authorized(self, request: Request) -> bool:
        key, expected_key = request.headers.get("x-api-key"), self.config.plugsurfing_api_key
        if key and expected_key and hmac.compare_digest(key.encode(), expected_key.encode()):
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        return expires is not None and expires > self.clock.now()

    def guarded(self, handler: Handler, before: Callable[[], None]) -> Handler:
        """401 without valid credentials; otherwise ``before()`` then the handler."""

        async def guarded_handler(request: Request) -> Response:
            if not self.authorized(request):
                return error(401, "UNAUTHORIZED", "missing or invalid credentials")
            before()
            return await handler(request)

        return guarded_handler

    def expire_all(self) -> int:
        """Invalidate every access token; how many there were."""
        expired = len(self.tokens)
        self.tokens.clear()
        return expired

    async def token(self, request: Request) -> Response:
        """The token endpoint (form-encoded, RFC 6749 client credentials grant)."""
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
