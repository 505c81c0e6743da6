"""Plugchoice behind :class:`bff.providers.base.ProviderAdapter`.

Plugchoice has no driver accounts, no history and no webhooks: a session is reached only
through the token that ``start_session`` returns (the BFF stores it in the session
record's ``extra`` and keeps the per-driver index itself), and changes are learnt by
polling ``get_session`` within Plugchoice's rate limits (30 reads a minute).
"""

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
)
from bff.errors import ProviderNotFound, ProviderRejected
from bff.providers.base import ClientOptions, StartRequest
from bff.providers.http import ProviderHttp
from bff.providers.plugchoice.client import PlugchoiceClient
from bff.providers.plugchoice.constants import PROVIDER_NAME
from bff.providers.plugchoice.mappers import money, to_charger, to_receipt, to_session
from bff.providers.plugchoice.schemas import SessionEnvelope
from bff.settings import Settings

TOKEN_KEY = "token"
_MAX_SEARCH = 100


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PlugchoiceAdapter:
    """Plugchoice v3 public charging as a :class:`ProviderAdapter`.

    ``start_session`` answers a session whose payment REQUIRES_ACTION with the Stripe
    ``client_secret`` and ``publishable_key``; the app confirms the card, then the BFF
    calls ``confirm_payment``. All later calls read the token from ``ref.extra["token"]``.
    """

    provider = Provider.PLUGCHOICE
    has_history = False
    claimable = False  # the session token lives only in our records

    def __init__(self, client: PlugchoiceClient, now: Callable[[], datetime] = _utcnow) -> None:
        self.client = client
        self.now = now

    async def search_chargers(
        self, near: GeoPoint, radius_meters: int, limit: int
    ) -> list[Charger]:
        found = await self.client.search_chargers(
            near.latitude, near.longitude, radius_meters, min(max(limit, 1), _MAX_SEARCH)
        )
        return [to_charger(c) for c in found][:limit]

    async def get_chargers(self, charger_ids: Sequence[str]) -> dict[str, Charger]:
        found = await self.client.get_chargers(charger_ids)
        # Public codes are case-insensitive: answer under the id the caller asked for.
        by_code = {c.public_code.upper(): to_charger(c) for c in found}
        return {cid: by_code[cid.upper()] for cid in charger_ids if cid.upper() in by_code}

    async def get_session(self, ref: SessionRef) -> ChargingSession | None:
        token = ref.extra.get(TOKEN_KEY)
        if not token:
            return None
        try:
            envelope = await self.client.show_session(token)
        except ProviderNotFound:
            return None
        return self._session(envelope, token)

    async def list_sessions(
        self, driver_id: str, cursor: str | None, limit: int, filter: SessionFilter
    ) -> SessionPage:
        raise NotImplementedError("Plugchoice has no session history; the BFF keeps the index")

    async def start_session(self, request: StartRequest) -> tuple[ChargingSession, dict[str, str]]:
        try:
            connector_id = int(request.connector_id)
        except ValueError:
            raise ProviderRejected(
                PROVIDER_NAME,
                "The charger has no such connector",
                ProviderRejected.UNKNOWN_CONNECTOR,
            ) from None
        started = await self.client.start_session(request.charger.id, connector_id, request.email)
        token = started.session_token
        session = to_session(
            started.data, token=token, observed_at=self.now(), payment=started.payment
        )
        currency = started.data.pricing.currency if started.data.pricing else None
        # The pre-authorization waits for the app's card step whatever the word says.
        payment = replace(
            session.payment or Payment(status=PaymentStatus.REQUIRES_ACTION),
            status=PaymentStatus.REQUIRES_ACTION,
            client_secret=started.payment.client_secret if started.payment else None,
            publishable_key=started.payment.publishable_key if started.payment else None,
            authorized=money(started.data.amount_authorized, currency),
        )
        return replace(session, payment=payment), {TOKEN_KEY: token}

    async def stop_session(self, ref: SessionRef) -> ChargingSession:
        token = _token(ref)
        try:
            envelope = await self.client.stop_session(token)
        except ProviderRejected as exc:
            if exc.reason != ProviderRejected.INVALID:
                raise
            # 409: not charging yet, or over. Plugchoice ends a session that has not
            # started charging with cancel, which also releases the hold.
            try:
                envelope = await self.client.cancel_session(token)
            except ProviderRejected as cancel_exc:
                if cancel_exc.reason != ProviderRejected.INVALID:
                    raise
                raise exc from None
        return self._session(envelope, token)

    async def cancel_session(self, ref: SessionRef) -> ChargingSession:
        """Cancel before charging begins (created, authorized, starting); releases the hold."""
        token = _token(ref)
        return self._session(await self.client.cancel_session(token), token)

    async def confirm_payment(self, ref: SessionRef) -> ChargingSession:
        token = _token(ref)
        return self._session(await self.client.confirm_session(token), token)

    async def retry_payment(self, ref: SessionRef) -> ChargingSession:
        raise _not_supported("Plugchoice cannot retry a payment")

    async def set_charging_profile(
        self, ref: SessionRef, profile: ChargingProfile
    ) -> ChargingProfile:
        raise _not_supported("Plugchoice public charging has no smart charging")

    async def clear_charging_profile(self, ref: SessionRef) -> None:
        raise _not_supported("Plugchoice public charging has no smart charging")

    async def get_receipt(self, ref: SessionRef) -> Receipt:
        token = _token(ref)
        envelope = await self.client.show_session(token)
        return to_receipt(envelope.data)

    def _session(self, envelope: SessionEnvelope, token: str) -> ChargingSession:
        return to_session(
            envelope.data, token=token, observed_at=self.now(), payment=envelope.payment
        )


def _token(ref: SessionRef) -> str:
    token = ref.extra.get(TOKEN_KEY)
    if not token:
        raise ProviderNotFound(PROVIDER_NAME, "No Plugchoice token is stored for this session")
    return token


def _not_supported(message: str) -> ProviderRejected:
    return ProviderRejected(PROVIDER_NAME, message, ProviderRejected.NOT_SUPPORTED)


#: ``base_url`` is Plugchoice's origin (``https://app.plugchoice.com``) or the sandbox
#: mount (``http://host:port/_sandbox/plugchoice``); the client adds ``/api/v3/...``.
PLUGCHOICE_CLIENT = ClientOptions(
    headers={"Accept": "application/json", "User-Agent": "charging-bff"}
)


def connect_plugchoice(http: ProviderHttp, settings: Settings) -> PlugchoiceAdapter:
    return PlugchoiceAdapter(PlugchoiceClient(http))
