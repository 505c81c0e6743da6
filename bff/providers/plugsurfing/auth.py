"""Authentication to the Drive API: OAuth2 client credentials, or a static API key.

The token lives in :class:`PlugsurfingAuth` (an ``httpx.Auth``), so every request of the
client gets it, one fetch serves all concurrent requests, and a 401 refreshes it once.
Secrets never appear in logs, reprs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx
from pydantic import ValidationError

from bff.errors import ProviderUnavailable
from bff.providers.plugsurfing.constants import PROVIDER_NAME, TOKEN_PATH
from bff.providers.plugsurfing.schemas import TokenResponse

log = logging.getLogger(__name__)

#: Refresh this long before expiry (capped at a tenth of the token's lifetime).
REFRESH_MARGIN_SECONDS = 30.0


class PlugsurfingAuth(httpx.Auth):
    """OAuth2 client credentials against the Keycloak token endpoint (seed ``000_*``).

    The token is cached until shortly before it expires; a 401 answer refreshes it once
    and resends the request.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # token requests sent, for metrics and tests

    def __repr__(self) -> str:
        return f"PlugsurfingAuth(token_url={self._token_url!r}, client_id=...)"

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        return None

    def _token_request(self) -> httpx.Request:
        self.fetches += 1
        return httpx.Request(
            "POST", self._token_url, data=self._form, headers={"accept": "application/json"}
        )

    def _store(self, response: httpx.Response) -> str:
        if response.status_code != 200:
            log.error("plugsurfing token endpoint answered %s", response.status_code)
            raise ProviderUnavailable(PROVIDER_NAME, "Plugsurfing authentication failed")
        try:
            token = TokenResponse.model_validate_json(response.content)
        except ValidationError:
            log.error("plugsurfing token endpoint sent an unreadable answer")
            raise ProviderUnavailable(PROVIDER_NAME, "Plugsurfing authentication failed") from None
        margin = min(REFRESH_MARGIN_SECONDS, token.expires_in / 10)
        self._expires_at = self._clock() + token.expires_in - margin
        self._token = token.access_token
        return token.access_token

    def _invalidate(self, token: str) -> None:
        # Only if nobody has refreshed since this token was sent.
        if self._token == token:
            self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The synchronous flow (no lock: a sync client is used from one thread)."""
        token = self._current() or self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._invalidate(token)
            token = self._current() or self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # One lock: concurrent requests wait for a single token fetch.
        async with self._lock:
            token = self._current()
            if token is None:
                fetched = yield self._token_request()
                await fetched.aread()
                token = self._store(fetched)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            async with self._lock:
                self._invalidate(token)
                token = self._current()
                if token is None:
                    fetched = yield self._token_request()
                    await fetched.aread()
                    token = self._store(fetched)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class ApiKeyAuth(httpx.Auth):
    """The static ``x-api-key`` header (the stage environment's alternative to OAuth)."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __repr__(self) -> str:
        return "ApiKeyAuth(...)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self._api_key
        yield request


def plugsurfing_auth(
    base_url: str, client_id: str, client_secret: str, api_key: str | None
) -> httpx.Auth:
    """An API key when one is configured, else OAuth2 client credentials."""
    if api_key:
        return ApiKeyAuth(api_key)
    return PlugsurfingAuth(base_url.rstrip("/") + TOKEN_PATH, client_id, client_secret)
