"""The identity provider's signing keys, read from its JWKS URL with httpx and cached.

pyjwt's ``PyJWKClient`` is synchronous (urllib, blocking the event loop); this is the
async equivalent the driver auth needs:

- the key set is cached for ``ttl`` seconds, then read again; a failed re-read keeps the
  keys we have (an identity provider's hiccup must not sign everyone out);
- a token whose ``kid`` we do not know triggers one early re-read (the provider rotated
  its keys), at most every ``min_refresh`` seconds, so made-up kids cannot make us
  hammer the provider;
- concurrent misses share one request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from bff.errors import Unauthenticated

log = logging.getLogger(__name__)


class JwksCache:
    """Signing keys by ``kid`` from one JWKS URL (see the module docstring)."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        ttl: float = 300.0,
        min_refresh: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.client = client
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.clock = clock
        self.fetches = 0  # requests made, for tests and operators
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful read
        self._tried_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()

    def cached(self, kid: str) -> PyJWK | None:
        """The key if we hold it, without any request."""
        return self._keys.get(kid)

    async def key(self, kid: str) -> PyJWK:
        """The signing key ``kid``, reading the set when stale or when ``kid`` is new;
        raises :class:`Unauthenticated` when there is no such key."""
        if self._expired() or (kid not in self._keys and self._may_retry()):
            async with self._lock:
                # Another request may have refreshed while we waited for the lock.
                if self._expired() or (kid not in self._keys and self._may_retry()):
                    await self._refresh()
        found = self._keys.get(kid)
        if found is None:
            raise Unauthenticated("the token is not valid")
        return found

    def _expired(self) -> bool:
        if self._fetched_at is None:
            return self._may_retry()
        return self.clock() - self._fetched_at >= self.ttl and self._may_retry()

    def _may_retry(self) -> bool:
        return self._tried_at is None or self.clock() - self._tried_at >= self.min_refresh

    async def _refresh(self) -> None:
        self._tried_at = self.clock()
        self.fetches += 1
        try:
            response = await self.client.get(self.url, headers={"accept": "application/json"})
            response.raise_for_status()
            keys = _signing_keys(response.json())
        except (httpx.HTTPError, ValueError, PyJWKError, PyJWKSetError) as exc:
            # Keep what we had; the next attempt waits ``min_refresh``.
            log.warning("JWKS read failed: %s", type(exc).__name__)
            return
        self._keys = keys
        self._fetched_at = self.clock()
        log.info("JWKS read", extra={"keys": len(keys)})


def _signing_keys(data: Any) -> dict[str, PyJWK]:
    """The usable signature keys of a JWKS document, by kid (others are skipped)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWKS document")
    usable = [
        k
        for k in data["keys"]
        if isinstance(k, dict) and isinstance(k.get("kid"), str) and k.get("use", "sig") == "sig"
    ]
    keys: dict[str, PyJWK] = {}
    for jwk in PyJWKSet.from_dict({"keys": usable}).keys if usable else []:
        if jwk.key_id:
            keys[jwk.key_id] = jwk
    return keys
