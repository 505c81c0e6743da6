"""Driver authentication: ``Authorization: Bearer <JWT>``; ``sub`` is the driver id.

Development signs tokens with HS256 and ``BFF_JWT_SECRET``. Production sets
``BFF_JWT_JWKS_URL``: then only the asymmetric algorithms (RS256, ES256, as listed in
``BFF_JWT_ALGORITHMS``) are accepted, each token verified with the identity provider's key
named by its ``kid`` -- and the development secret no longer signs anything. ``exp`` is
required; ``nbf`` is checked when present; ``iss`` and ``aud`` when configured.

A token that passed is remembered (by its whole text, signature included) until its
``exp`` and for at most ``VERIFIED_MAX_SECONDS``: an app sends the same token with every
request, and verifying it again costs more CPU than the rest of a small query. Under a
JWKS a key the identity provider withdraws thus stops a token it signed within that
bound, as it does with the key cache's own re-reads (``BFF_JWT_JWKS_TTL_SECONDS``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from bff.errors import Unauthenticated
from bff.jwks import JwksCache
from bff.settings import Settings

SYMMETRIC = ("HS256", "HS384", "HS512")
ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")

#: Verified tokens remembered at most (least recently used out), and for how long at most.
VERIFIED_MAX = 4096
VERIFIED_MAX_SECONDS = 300.0


class DriverAuth:
    """Verifies driver tokens; :meth:`authenticate` may read the JWKS (async),
    :meth:`verify_header` uses what is cached (sync)."""

    def __init__(
        self,
        settings: Settings,
        jwks: JwksCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.jwks = jwks
        self._clock = clock
        # token -> (driver id, exp, remembered until): tokens that passed, see the module doc.
        self._verified: OrderedDict[str, tuple[str, float | None, float]] = OrderedDict()
        if settings.jwt_jwks_url:
            self.algorithms = [a for a in settings.jwt_algorithms if a in ASYMMETRIC]
        else:
            self.algorithms = [a for a in settings.jwt_algorithms if a in SYMMETRIC]
        if not self.algorithms:
            raise ValueError("BFF_JWT_ALGORITHMS has no algorithm usable with this key source")

    @classmethod
    def from_settings(cls, settings: Settings) -> DriverAuth:
        """With a JWKS cache (and its own httpx client) when a JWKS URL is configured;
        close it with :meth:`aclose`."""
        jwks = None
        if settings.jwt_jwks_url:
            client = httpx.AsyncClient(timeout=settings.jwt_jwks_timeout_seconds)
            jwks = JwksCache(
                settings.jwt_jwks_url,
                client,
                ttl=settings.jwt_jwks_ttl_seconds,
                min_refresh=settings.jwt_jwks_min_refresh_seconds,
            )
        return cls(settings, jwks)

    async def aclose(self) -> None:
        if self.jwks is not None:
            await self.jwks.client.aclose()

    def issue(self, driver_id: str, ttl_seconds: int = 24 * 3600) -> str:
        """A development token signed with the HS256 secret."""
        now = int(time.time())
        claims: dict[str, object] = {"sub": driver_id, "iat": now, "exp": now + ttl_seconds}
        if self.settings.jwt_issuer:
            claims["iss"] = self.settings.jwt_issuer
        if self.settings.jwt_audience:
            claims["aud"] = self.settings.jwt_audience
        return jwt.encode(claims, self.settings.jwt_secret.get_secret_value(), algorithm="HS256")

    async def authenticate(self, value: str | None) -> tuple[str, float | None]:
        """The driver id and token expiry for an ``Authorization`` value, reading the
        identity provider's keys when needed; raises Unauthenticated."""
        token = _bearer(value)
        known = self._known(token)
        if known is not None:
            return known
        header = _header(token)
        key: str | PyJWK
        if self.jwks is not None:
            key = await self.jwks.key(_kid(header))
        else:
            key = self.settings.jwt_secret.get_secret_value()
        return self._decode(token, key)

    def verify_header(self, value: str | None) -> tuple[str, float | None]:
        """As :meth:`authenticate`, with the keys already cached (no request)."""
        token = _bearer(value)
        return self.verify(token)

    def verify(self, token: str) -> tuple[str, float | None]:
        known = self._known(token)
        if known is not None:
            return known
        key: str | PyJWK | None
        if self.jwks is not None:
            key = self.jwks.cached(_kid(_header(token)))
            if key is None:
                raise Unauthenticated("the token is not valid")
        else:
            key = self.settings.jwt_secret.get_secret_value()
        return self._decode(token, key)

    def _decode(self, token: str, key: str | PyJWK) -> tuple[str, float | None]:
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                issuer=s.jwt_issuer,
                audience=s.jwt_audience,
                options={"require": ["sub", "exp"], "verify_aud": s.jwt_audience is not None},
                leeway=s.jwt_leeway_seconds,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not valid") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthenticated("the token has no subject")
        exp = claims.get("exp")
        expires = float(exp) if isinstance(exp, int | float) else None
        self._remember(token, sub, expires)
        return sub, expires

    def _known(self, token: str) -> tuple[str, float | None] | None:
        """A token that passed before and may still be taken on that word (see the
        module doc); None: verify it."""
        entry = self._verified.get(token)
        if entry is None:
            return None
        if self._clock() >= entry[2]:
            del self._verified[token]
            return None
        self._verified.move_to_end(token)
        return entry[0], entry[1]

    def _remember(self, token: str, sub: str, expires: float | None) -> None:
        until = self._clock() + VERIFIED_MAX_SECONDS
        if expires is not None:
            # Until exp, not exp + leeway: from then on each use is verified again, and
            # gets the leeway's grace (and then "expired") from the full check.
            until = min(until, expires)
        self._verified[token] = (sub, expires, until)
        self._verified.move_to_end(token)
        if len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)


def _bearer(value: str | None) -> str:
    if not value:
        raise Unauthenticated("sign in: no Authorization bearer token")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return token.strip()


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not valid") from None


def _kid(header: dict[str, Any]) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("the token is not valid")
    return kid
