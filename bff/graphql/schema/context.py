"""The typed GraphQL context: one per HTTP request, per websocket, per operation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeAlias

import strawberry

from bff.errors import Unauthenticated
from bff.graphql.schema.loaders import Loaders
from bff.resources import Resources
from bff.usecases.partial import ProviderFailures


@dataclass(slots=True)
class Context:
    resources: Resources
    #: ``Bearer <token>``: the HTTP Authorization header, or the websocket's
    #: ``connection_init`` payload; dropped once verified.
    credentials: str | None
    failures: ProviderFailures = field(default_factory=ProviderFailures)
    _driver: tuple[str, float | None] | None = None
    _auth_error: Unauthenticated | None = None
    _loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.resources, self.failures)
        return self._loaders

    def fresh_loaders(self) -> Loaders:
        """New loaders for one subscription event."""
        return Loaders(self.resources, ProviderFailures())

    def for_operation(self) -> Context:
        """The same driver, with its own provider failures and loaders."""
        return replace(self, failures=ProviderFailures(), _loaders=None)

    @property
    def authenticated(self) -> bool:
        """The credentials were verified (:meth:`driver_id` answers from memory)."""
        return self._driver is not None

    @property
    def token_expires_at(self) -> float | None:
        return self._driver[1] if self._driver else None

    async def authenticate(self) -> None:
        """Verify the credentials now, when there are any (reading the identity
        provider's keys if needed); :meth:`driver_id` then answers from memory."""
        if self._driver is not None or self._auth_error is not None or self.credentials is None:
            return
        try:
            self._driver = await self.resources.auth.authenticate(self.credentials)
        except Unauthenticated as exc:
            self._auth_error = exc
        self.credentials = None  # the token is not needed again

    def driver_id(self) -> str:
        """The signed-in driver, or ``Unauthenticated``."""
        if self._driver is None:
            if self._auth_error is not None:
                raise Unauthenticated(self._auth_error.message)
            if self.credentials is None:
                raise Unauthenticated("sign in: no Authorization bearer token")
            self._driver = self.resources.auth.verify_header(self.credentials)
            self.credentials = None
        return self._driver[0]


Info: TypeAlias = strawberry.Info[Context, None]
