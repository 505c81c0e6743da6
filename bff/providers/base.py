"""The contract every provider implements: its adapter, and what its webhooks say.

    ProviderAdapter   one provider behind the domain (chargers, sessions, payments)
    WebhookEvent      what a verified webhook asks of the BFF, whatever the provider:
     ├── RefetchSession   re-fetch this session: the webhook carries no state
     └── SessionState     this is the session's new state; record each delivery once
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import httpx

from bff.domain.model import (
    Charger,
    ChargingProfile,
    ChargingSession,
    GeoPoint,
    Provider,
    Receipt,
    SessionFilter,
    SessionPage,
    SessionRef,
)
from bff.settings import Settings


@dataclass(frozen=True, slots=True)
class StartRequest:
    driver_id: str
    charger: Charger
    connector_id: str
    battery_target_kwh: float | None = None
    email: str | None = None


@runtime_checkable
class ProviderAdapter(Protocol):
    """One provider behind the domain. Methods raise :mod:`bff.errors` ProviderError kinds."""

    provider: Provider
    #: True when the provider lists a driver's sessions itself; otherwise the BFF keeps a
    #: per-driver index in Redis of the sessions it started.
    has_history: bool
    #: True when the provider answers a read of a session only for the driver who owns
    #: it (a per-user path, a user JWT): a session whose record the BFF lost can then be
    #: claimed back by asking as the driver. False when the BFF holds the only key.
    claimable: bool

    async def search_chargers(
        self, near: GeoPoint, radius_meters: int, limit: int
    ) -> list[Charger]:
        """Chargers within the radius, any order (the caller sorts by distance)."""
        ...

    async def get_chargers(self, charger_ids: Sequence[str]) -> dict[str, Charger]:
        """Chargers by id in as few upstream calls as possible; unknown ids are absent."""
        ...

    async def get_session(self, ref: SessionRef) -> ChargingSession | None:
        """The session, or None when unknown or not this driver's."""
        ...

    async def list_sessions(
        self, driver_id: str, cursor: str | None, limit: int, filter: SessionFilter
    ) -> SessionPage:
        """A page of the driver's sessions, newest first (only when ``has_history``)."""
        ...

    async def start_session(self, request: StartRequest) -> tuple[ChargingSession, dict[str, str]]:
        """Start; returns the session and the ``extra`` to store for later calls.

        A session whose ``payment.status`` is REQUIRES_ACTION needs the app's card step.
        """
        ...

    async def stop_session(self, ref: SessionRef) -> ChargingSession: ...

    async def confirm_payment(self, ref: SessionRef) -> ChargingSession: ...

    async def retry_payment(self, ref: SessionRef) -> ChargingSession: ...

    async def set_charging_profile(
        self, ref: SessionRef, profile: ChargingProfile
    ) -> ChargingProfile: ...

    async def clear_charging_profile(self, ref: SessionRef) -> None: ...

    async def get_receipt(self, ref: SessionRef) -> Receipt: ...


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """What a provider's httpx client carries beyond the shared defaults."""

    headers: Mapping[str, str] = field(default_factory=dict)
    auth: httpx.Auth | None = None


@dataclass(frozen=True, slots=True)
class RefetchSession:
    """A webhook that only names a session (Plugsurfing): re-fetch it from the provider.

    ``known`` is False for an event name we do not know (still a prompt to re-fetch)."""

    session_id: str
    driver_id: str | None
    event: str
    known: bool = True


@dataclass(frozen=True, slots=True)
class SessionState:
    """A webhook that carries the session's new state (roaming). ``delivery_id`` names the
    delivery: a replay of it is recorded once."""

    delivery_id: str
    session: ChargingSession


WebhookEvent = RefetchSession | SessionState


class WebhookParser(Protocol):
    """Verify and read one webhook; raises :class:`bff.errors.WebhookRejected` with the
    status to answer (401 credentials, 415 not JSON, 400 malformed)."""

    def __call__(
        self, headers: Mapping[str, str], body: bytes, settings: Settings, now: datetime
    ) -> WebhookEvent: ...
