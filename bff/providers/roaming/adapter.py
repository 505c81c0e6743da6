"""The roaming platform behind :class:`bff.providers.base.ProviderAdapter`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

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
from bff.errors import ProviderError, ProviderNotFound, ProviderRejected
from bff.providers.base import StartRequest
from bff.providers.http import ProviderHttp
from bff.providers.roaming import mappers
from bff.providers.roaming.client import RoamingClient
from bff.providers.roaming.constants import PROVIDER_NAME, RECEIPT_NOT_AVAILABLE
from bff.providers.roaming.schemas import SessionStatusObject, StartSessionRequest
from bff.settings import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RoamingAdapter:
    """Sessions at Virta EVSEs through the roaming platform (seed 003).

    The platform has no history API (the BFF indexes the sessions it started) and no
    payment step: the CPO bills through the platform, so payment calls are NOT_SUPPORTED.
    A session's ``observed_at`` is the time we asked, taken before the request, so a
    webhook stamped later by the platform wins over a slow poll.
    """

    provider = Provider.ROAMING
    has_history = False
    claimable = True  # user JWT: the platform answers the owner only

    def __init__(self, client: RoamingClient, now: Callable[[], datetime] = _utcnow) -> None:
        self.client = client
        self._now = now

    async def search_chargers(
        self, near: GeoPoint, radius_meters: int, limit: int
    ) -> list[Charger]:
        evses = await self.client.search_evses(near.latitude, near.longitude, radius_meters, limit)
        return [mappers.charger_from_evse(e) for e in evses[:limit]]

    async def get_chargers(self, charger_ids: Sequence[str]) -> dict[str, Charger]:
        if not charger_ids:
            return {}
        evses = await self.client.get_evses(charger_ids)
        wanted = set(charger_ids)
        chargers = (mappers.charger_from_evse(e) for e in evses)
        return {c.id: c for c in chargers if c.id in wanted}

    async def get_session(self, ref: SessionRef) -> ChargingSession | None:
        try:
            return await self._status(ref)
        except ProviderNotFound:
            return None

    async def list_sessions(
        self, driver_id: str, cursor: str | None, limit: int, filter: SessionFilter
    ) -> SessionPage:
        # has_history is False: the BFF lists from its own index, never from here.
        return SessionPage(sessions=(), next_cursor=None)

    async def start_session(self, request: StartRequest) -> tuple[ChargingSession, dict[str, str]]:
        charger = request.charger
        connector = charger.connector(request.connector_id)
        if connector is None:
            raise ProviderRejected(
                PROVIDER_NAME,
                "This charger has no such connector",
                reason=ProviderRejected.UNKNOWN_CONNECTOR,
            )
        body = StartSessionRequest(
            evse_id=charger.evse_id or charger.id,
            connector_type=connector.standard,
            battery_target_kwh=request.battery_target_kwh,
        )
        asked = self._now()
        resp = await self.client.start_session(request.driver_id, body)
        return mappers.session_from_start(resp, asked, connector.id), {}

    async def stop_session(self, ref: SessionRef) -> ChargingSession:
        asked = self._now()
        resp = await self.client.stop_session(ref.driver_id, ref.session_id)
        try:
            return await self._status(ref)
        except ProviderError:
            # The stop was accepted; a failed read afterwards must not look like a failed stop.
            obj = SessionStatusObject(session_id=resp.session_id, status=resp.status)
            session = mappers.session_from_status(obj, asked)
            return _without_readings(session)

    async def confirm_payment(self, ref: SessionRef) -> ChargingSession:
        raise _no_payments()

    async def retry_payment(self, ref: SessionRef) -> ChargingSession:
        raise _no_payments()

    async def set_charging_profile(
        self, ref: SessionRef, profile: ChargingProfile
    ) -> ChargingProfile:
        resp = await self.client.set_charging_profile(
            ref.driver_id, ref.session_id, mappers.profile_to_wire(profile)
        )
        return mappers.profile_from_wire(resp)

    async def clear_charging_profile(self, ref: SessionRef) -> None:
        await self.client.clear_charging_profile(ref.driver_id, ref.session_id)

    async def get_receipt(self, ref: SessionRef) -> Receipt:
        try:
            resp = await self.client.get_receipt(ref.driver_id, ref.session_id)
        except ProviderRejected as exc:
            if exc.reason == RECEIPT_NOT_AVAILABLE:
                return Receipt(available=False)
            raise
        return mappers.receipt_from_wire(resp)

    async def _status(self, ref: SessionRef) -> ChargingSession:
        asked = self._now()
        obj = await self.client.get_status(ref.driver_id, ref.session_id)
        return mappers.session_from_status(obj, asked)


def _without_readings(session: ChargingSession) -> ChargingSession:
    # A stop answer has no energy reading; zero would look like a fact.
    return replace(session, energy=None)


def _no_payments() -> ProviderRejected:
    return ProviderRejected(
        PROVIDER_NAME,
        "Payment is handled by the roaming platform",
        reason=ProviderRejected.NOT_SUPPORTED,
    )


def connect_roaming(http: ProviderHttp, settings: Settings) -> RoamingAdapter:
    """The adapter over ``http``; user JWTs signed with ``roaming_jwt_secret``."""
    return RoamingAdapter(RoamingClient(http, settings.roaming_jwt_secret.get_secret_value()))
