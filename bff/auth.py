"""Driver authentication: ``Authorization: Bearer <JWT>``; ``sub`` is the driver id."""

from __future__ import annotations

import time

import jwt

from bff.errors import Unauthenticated
from bff.settings import Settings


class DriverAuth:
    """Verifies driver tokens (HS256 with the dev secret; issuer/audience when configured)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def issue(self, driver_id: str, ttl_seconds: int = 24 * 3600) -> str:
        now = int(time.time())
        claims: dict[str, object] = {"sub": driver_id, "iat": now, "exp": now + ttl_seconds}
        if self.settings.jwt_issuer:
            claims["iss"] = self.settings.jwt_issuer
        if self.settings.jwt_audience:
            claims["aud"] = self.settings.jwt_audience
        return jwt.encode(claims, self.settings.jwt_secret.get_secret_value(), algorithm="HS256")

    def verify_header(self, value: str | None) -> tuple[str, float | None]:
        """The driver id and token expiry for an ``Authorization`` value; raises Unauthenticated."""
        if not value:
            raise Unauthenticated("sign in: no Authorization bearer token")
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return self.verify(token.strip())

    def verify(self, token: str) -> tuple[str, float | None]:
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                s.jwt_secret.get_secret_value(),
                algorithms=[a for a in s.jwt_algorithms if a.startswith("HS")] or ["HS256"],
                issuer=s.jwt_issuer,
                audience=s.jwt_audience,
                options={"require": ["sub", "exp"], "verify_aud": s.jwt_audience is not None},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not valid") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthenticated("the token has no subject")
        exp = claims.get("exp")
        return sub, float(exp) if isinstance(exp, int | float) else None
