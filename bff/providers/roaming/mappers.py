"""Pure functions from the roaming platform's JSON to the domain, and back for profiles.

kW in the domain, watts on the wire (a period's ``limit`` is already watts, as is
:attr:`ChargingPeriod.limit_watts`); money from decimal major units via
:meth:`Money.from_major`; energy in Wh; durations in seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bff.domain.model import (
    Charger,
    ChargingPeriod,
    ChargingProfile,
    ChargingSession,
    Connector,
    Cost,
    Energy,
    GeoPoint,
    Provider,
    Receipt,
    Tariff,
)
from bff.domain.money import Money
from bff.providers.roaming.constants import (
    CAP_CHARGING_PROFILE,
    COMPLETED,
    connector_standard,
    map_evse_status,
    map_receipt_payment_status,
    map_session_status,
)
from bff.providers.roaming.schemas import (
    ChargingPeriodWire,
    ChargingProfileRequest,
    ChargingProfileResponse,
    ConnectorWire,
    EvseWire,
    ReceiptResponse,
    SessionStatusObject,
    StartSessionResponse,
)


def connector_id(evse_id: str, ocpi_connector_id: str) -> str:
    """The domain connector id: OCPI connector ids are unique only within their EVSE."""
    return f"{evse_id}*{ocpi_connector_id}"


def session_from_status(
    obj: SessionStatusObject, observed_at: datetime, charger_id: str | None = None
) -> ChargingSession:
    """A status object (or a webhook's ``data``) as a session observed at ``observed_at``."""
    word = obj.status.strip().lower()
    cost = None
    if obj.cost is not None and obj.currency:
        # Only a completed session carries the CDR's final price.
        cost = Cost(total=Money.from_major(obj.cost, obj.currency), estimated=word != COMPLETED)
    ended_at = ended_from_status(obj, observed_at) if word == COMPLETED else None
    # Whole minutes (37 s of charging read 0): a fallback where timestamps give nothing.
    duration = obj.duration_minutes * 60 if obj.duration_minutes is not None else None
    if obj.start_time is not None and ended_at is not None:
        duration = max(0, int((ended_at - obj.start_time).total_seconds()))
    return ChargingSession(
        provider=Provider.ROAMING,
        id=obj.session_id,
        status=map_session_status(obj.status),
        provider_status=obj.status,
        observed_at=observed_at,
        charger_id=charger_id,
        started_at=obj.start_time,
        ended_at=ended_at,
        duration_seconds=duration,
        energy=Energy.from_kwh(obj.energy_kwh),
        cost=cost,
        receipt_available=word == COMPLETED,
    )


def ended_from_status(obj: SessionStatusObject, observed_at: datetime) -> datetime:
    """When a completed session ended: the platform states no end time (seed 003), so the
    moment it was seen completed (a webhook's ``updated_at``, else when we asked), but no
    later than its start and whole ``duration_minutes`` allow (a session read days after
    it ended). Reconciliation keeps the earliest of these (:mod:`bff.domain.reconcile`)."""
    if obj.start_time is None or obj.duration_minutes is None:
        return observed_at
    try:
        latest = obj.start_time + timedelta(minutes=obj.duration_minutes + 1)
    except OverflowError:  # minutes past year 9999: no bound at all
        return max(obj.start_time, observed_at)
    return max(obj.start_time, min(observed_at, latest))


def session_from_start(
    resp: StartSessionResponse, observed_at: datetime, connector: str | None
) -> ChargingSession:
    """The session a start call answered (``pending`` as a rule)."""
    return ChargingSession(
        provider=Provider.ROAMING,
        id=resp.session_id,
        status=map_session_status(resp.status),
        provider_status=resp.status,
        observed_at=observed_at,
        charger_id=resp.evse_id,
        connector_id=connector,
        created_at=observed_at,
    )


def connector_power_kw(c: ConnectorWire) -> float:
    """OCPI's ``max_electric_power`` (W), else voltage x amperage (x3 for three phases)."""
    if c.max_electric_power is not None:
        return c.max_electric_power / 1000
    if c.max_voltage is not None and c.max_amperage is not None:
        phases = 3 if c.power_type == "AC_3_PHASE" else 1
        return phases * c.max_voltage * c.max_amperage / 1000
    return 0.0


def charger_from_evse(evse: EvseWire) -> Charger:
    status = map_evse_status(evse.status)
    loc = evse.location
    name = loc.name or evse.evse_id
    if evse.physical_reference:
        name = f"{name} {evse.physical_reference}"
    tariff = None
    if evse.tariff is not None:
        tariff = Tariff(
            price_per_kwh=Money.from_major(evse.tariff.price_per_kwh, evse.tariff.currency)
        )
    return Charger(
        provider=Provider.ROAMING,
        id=evse.evse_id,
        evse_id=evse.evse_id,
        name=name,
        location=GeoPoint(float(evse.coordinates.latitude), float(evse.coordinates.longitude)),
        status=status,
        # The platform's only way to charge is its remote start/stop API.
        remote_start_stop=True,
        smart_charging=CAP_CHARGING_PROFILE in evse.capabilities,
        connectors=tuple(
            Connector(
                id=connector_id(evse.evse_id, c.id),
                label=c.id,  # OCPI's connector id: its number at the EVSE
                standard=connector_standard(c.standard),
                power_kw=connector_power_kw(c),
                status=status,  # OCPI connectors have no status of their own
            )
            for c in evse.connectors
        ),
        tariff=tariff,
        site=loc.name,
        city=loc.city,
        street=loc.address,
    )


def receipt_from_wire(r: ReceiptResponse) -> Receipt:
    """The platform's receipt data (it has no document: the BFF renders one). Its whole
    ``duration_minutes`` stand only until the session's timestamps say better."""
    return Receipt(
        available=True,
        cost=Cost(total=Money.from_major(r.cost, r.currency)),
        network=r.network,
        evse_id=r.evse_id,
        energy=Energy.from_kwh(r.energy_kwh),
        duration_seconds=r.duration_minutes * 60 if r.duration_minutes is not None else None,
        payment_status=map_receipt_payment_status(r.payment_status),
    )


def profile_to_wire(profile: ChargingProfile) -> ChargingProfileRequest:
    periods = None
    if profile.periods:
        periods = [
            ChargingPeriodWire(start_period=p.start_seconds, limit=p.limit_watts)
            for p in profile.periods
        ]
    return ChargingProfileRequest(
        max_charge_rate_kw=profile.max_charge_rate_kw,
        departure_time=profile.departure_time,
        periods=periods,
    )


def profile_from_wire(resp: ChargingProfileResponse) -> ChargingProfile:
    return ChargingProfile(
        max_charge_rate_kw=resp.max_charge_rate_kw,
        departure_time=resp.departure_time,
        periods=tuple(ChargingPeriod(p.start_period, p.limit) for p in resp.periods),
    )
