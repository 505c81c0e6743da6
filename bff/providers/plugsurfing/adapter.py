"""Plugsurfing behind :class:`bff.providers.base.ProviderAdapter`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bff.domain.model import (
    Charger,
    ChargingProfile,
    ChargingSession,
    GeoPoint,
    Payment,
    PaymentStatus,
    Provider,
    Receipt,
    SessionFilter,
    SessionPage,
    SessionRef,
    SessionStatus,
)
from bff.errors import ProviderNotFound, ProviderRejected
from bff.providers.base import ClientOptions, StartRequest
from bff.providers.http import ProviderHttp
from bff.providers.plugsurfing.auth import plugsurfing_auth
from bff.providers.plugsurfing.client import PlugsurfingClient
from bff.providers.plugsurfing.constants import (
    MAX_EVSE_IDS,
    MAX_GEOSEARCH_METERS,
    MAX_HISTORY_LIMIT,
    PROVIDER_NAME,
    words_for_statuses,
)
from bff.providers.plugsurfing.mappers import (
    chargers_from_locations,
    receipt_from_model,
    session_from_model,
)
from bff.providers.plugsurfing.schemas import PaymentChallenge
from bff.settings import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PlugsurfingAdapter:
    """The Drive API as the domain sees it.

    Authentication is configured on the httpx client inside ``http`` (see
    :func:`plugsurfing_client_options`). ``now`` stamps ``observed_at``: Plugsurfing has no
    updated-at field, so a session is as new as the moment we asked for it.
    """

    provider = Provider.PLUGSURFING
    has_history = True
    claimable = True  # per-user session paths

    def __init__(self, http: ProviderHttp, *, now: Callable[[], datetime] = _utcnow) -> None:
        self.client = PlugsurfingClient(http)
        self._now = now

    async def search_chargers(
        self, near: GeoPoint, radius_meters: int, limit: int
    ) -> list[Charger]:
        # No status filter: the guide warns that statuses lag, so OCCUPIED may be free.
        found = await self.client.geosearch_radius(
            near.latitude, near.longitude, min(radius_meters, MAX_GEOSEARCH_METERS), limit
        )
        return list(chargers_from_locations(found))

    async def get_chargers(self, charger_ids: Sequence[str]) -> dict[str, Charger]:
        wanted = list(dict.fromkeys(charger_ids))
        result: dict[str, Charger] = {}
        for i in range(0, len(wanted), MAX_EVSE_IDS):
            found = await self.client.get_evses(wanted[i : i + MAX_EVSE_IDS])
            result.update((c.id, c) for c in chargers_from_locations(found) if c.id in wanted)
        return result

    async def get_session(self, ref: SessionRef) -> ChargingSession | None:
        try:
            return await self._fetch(ref.driver_id, ref.session_id)
        except ProviderNotFound:
            return None

    async def list_sessions(
        self, driver_id: str, cursor: str | None, limit: int, filter: SessionFilter
    ) -> SessionPage:
        if filter.providers is not None and self.provider not in filter.providers:
            return SessionPage((), None)
        words = None
        if filter.statuses is not None:
            words = words_for_statuses(filter.statuses)
            if not words:  # e.g. only ABANDONED, which is the BFF's word, not Plugsurfing's
                return SessionPage((), None)
        observed_at = self._now()
        page = await self.client.list_sessions(
            driver_id,
            limit=max(1, min(limit, MAX_HISTORY_LIMIT)),
            cursor=cursor,
            started_from=filter.started_after,
            started_to=filter.started_before,
            statuses=words,
        )
        sessions = (session_from_model(m, observed_at) for m in page.sessions)
        return SessionPage(tuple(s for s in sessions if filter.matches(s)), page.next_cursor)

    async def start_session(self, request: StartRequest) -> tuple[ChargingSession, dict[str, str]]:
        started = await self.client.start_session(request.driver_id, request.connector_id)
        session = await self._after_start(request, started.session_id or "")
        if isinstance(started, PaymentChallenge):
            # The app finishes 3-D Secure with the secret, then the driver starts again.
            payment = Payment(
                status=PaymentStatus.REQUIRES_ACTION, client_secret=started.client_secret
            )
            session = replace(session, payment=payment)
        return session, {}

    async def _after_start(self, request: StartRequest, session_id: str) -> ChargingSession:
        observed_at = self._now()
        try:
            model = await self.client.get_session(request.driver_id, session_id)
        except ProviderNotFound:
            # Not readable yet: report the attempt as starting, the next fetch corrects it.
            return ChargingSession(
                provider=self.provider,
                id=session_id,
                status=SessionStatus.STARTING,
                provider_status="CREATED",
                observed_at=observed_at,
                charger_id=request.charger.id,
                connector_id=request.connector_id,
                charger_name=request.charger.name,
                charger_city=request.charger.city,
            )
        return session_from_model(model, observed_at)

    async def stop_session(self, ref: SessionRef) -> ChargingSession:
        observed_at = self._now()
        model = await self.client.stop_session(ref.driver_id, ref.session_id)
        if model is None:
            return await self._fetch(ref.driver_id, ref.session_id)
        return session_from_model(model, observed_at)

    async def confirm_payment(self, ref: SessionRef) -> ChargingSession:
        """Plugsurfing needs no confirmation after 3-D Secure: the driver starts again.

        Answers the session as it is now.
        """
        return await self._fetch(ref.driver_id, ref.session_id)

    async def retry_payment(self, ref: SessionRef) -> ChargingSession:
        observed_at = self._now()
        model = await self.client.retry_payment(ref.driver_id, ref.session_id)
        if model is None:
            return await self._fetch(ref.driver_id, ref.session_id)
        return session_from_model(model, observed_at)

    async def set_charging_profile(
        self, ref: SessionRef, profile: ChargingProfile
    ) -> ChargingProfile:
        raise _no_smart_charging()

    async def clear_charging_profile(self, ref: SessionRef) -> None:
        raise _no_smart_charging()

    async def get_receipt(self, ref: SessionRef) -> Receipt:
        # The receipt endpoint is not per user: read the driver's session first.
        session = await self._fetch(ref.driver_id, ref.session_id)
        if not session.receipt_available:
            return Receipt(available=False, cost=session.cost)
        receipt = await self.client.get_receipt(ref.session_id)
        if receipt is None:
            return Receipt(available=False, cost=session.cost)
        return receipt_from_model(receipt, session)

    async def _fetch(self, driver_id: str, session_id: str) -> ChargingSession:
        observed_at = self._now()
        model = await self.client.get_session(driver_id, session_id)
        return session_from_model(model, observed_at)


def _no_smart_charging() -> ProviderRejected:
    return ProviderRejected(
        PROVIDER_NAME,
        "Plugsurfing does not support charging profiles",
        reason=ProviderRejected.NOT_SUPPORTED,
    )


def plugsurfing_client_options(base_url: str, settings: Settings) -> ClientOptions:
    """OAuth2 client credentials at ``base_url``'s token endpoint, or the API key."""
    api_key = settings.plugsurfing_api_key
    auth = plugsurfing_auth(
        base_url,
        settings.plugsurfing_client_id,
        settings.plugsurfing_client_secret.get_secret_value(),
        api_key.get_secret_value() if api_key is not None else None,
    )
    return ClientOptions(headers={"accept": "application/json"}, auth=auth)


def connect_plugsurfing(http: ProviderHttp, settings: Settings) -> PlugsurfingAdapter:
    return PlugsurfingAdapter(http)
