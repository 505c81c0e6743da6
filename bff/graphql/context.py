"""The typed GraphQL context (one per HTTP request; one per websocket connection)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from bff.errors import Unauthenticated
from bff.graphql.live import LiveRun
from bff.graphql.loaders import Loaders
from bff.service.partial import ProviderFailures
from bff.services import Services


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | None
    authorization: str | None
    failures: ProviderFailures = field(default_factory=ProviderFailures)
    connection_params: dict[str, Any] | None = None
    _driver: tuple[str, float | None] | None = None
    _auth_error: Unauthenticated | None = None
    _loaders: Loaders | None = None
    #: Set by the shared-subscription transport for the runs it makes (bff.graphql.live).
    live: LiveRun | None = None

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.services, self.failures)
        return self._loaders

    def fresh_loaders(self) -> Loaders:
        """New loaders for one subscription event."""
        return Loaders(self.services, ProviderFailures())

    @property
    def authenticated(self) -> bool:
        """The credentials were verified (:meth:`driver_id` answers from memory)."""
        return self._driver is not None

    @property
    def token_expires_at(self) -> float | None:
        return self._driver[1] if self._driver else None

    def _credentials(self) -> str | None:
        value = self.authorization
        if value is None and self.connection_params is not None:
            raw = self.connection_params.get("authorization") or self.connection_params.get(
                "Authorization"
            )
            value = raw if isinstance(raw, str) else None
        return value

    async def authenticate(self) -> None:
        """Verify the credentials now, when there are any (reading the identity
        provider's keys if needed); :meth:`driver_id` then answers from memory."""
        value = self._credentials()
        if self._driver is not None or self._auth_error is not None or value is None:
            return
        try:
            self._driver = await self.services.auth.authenticate(value)
        except Unauthenticated as exc:
            self._auth_error = exc

    def driver_id(self) -> str:
        """The signed-in driver, or ``Unauthenticated``."""
        if self._driver is None:
            if self._auth_error is not None:
                raise Unauthenticated(self._auth_error.message)
            value = self._credentials()
            if value is None:
                raise Unauthenticated("sign in: no Authorization bearer token")
            self._driver = self.services.auth.verify_header(value)
        return self._driver[0]


Info: TypeAlias = strawberry.Info[Context, None]
