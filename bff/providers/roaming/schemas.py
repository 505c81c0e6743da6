"""Pydantic models of the roaming platform's JSON (seed 003; OCPI 2.2.1 where it is silent).

Amounts and energies are parsed as ``Decimal`` from the JSON text (parse responses with
``model_validate_json`` so a number such as ``5.32`` never passes through a float).
Unknown fields are ignored: the platform may add some.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bff.domain.money import currency_exponent
from bff.providers.bounds import Count, Kwh, MajorPrice, Minutes

_EXCESS_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_utc(value: object) -> object:
    """A UTC-aware datetime from ISO 8601, tolerating ``Z`` and nanoseconds.

    Python 3.11's ``fromisoformat`` rejects more than six fractional digits; the extra
    digits are dropped. A naive timestamp is taken as UTC (OCPI DateTime is UTC).
    """
    if isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(_EXCESS_FRACTION.sub(r"\1", text))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # pydantic turns ValueErrors, not these, into a 400
            raise ValueError("timestamp out of range") from None
    return value


def _known_currency(code: str) -> str:
    currency_exponent(code)  # raises ValueError for a code ISO 4217 does not know
    return code.upper()


UtcDateTime = Annotated[datetime, BeforeValidator(parse_utc)]
#: An ISO 4217 code, checked at the edge so money mapping cannot fail later.
CurrencyCode = Annotated[str, AfterValidator(_known_currency)]


class WireModel(BaseModel):
    """Base of the platform's models: frozen, unknown fields ignored."""

    # NaN and Infinity are no coordinates, powers or rates.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class ErrorBody(WireModel):
    """A 4xx body: ``{"error": "<code>", "message": "..."}``."""

    error: str = "invalid_request"
    message: str | None = None


class StartSessionRequest(WireModel):
    evse_id: str = Field(min_length=1)
    connector_type: str = Field(min_length=1)
    battery_target_kwh: float | None = Field(default=None, gt=0)


class StartSessionResponse(WireModel):
    session_id: str
    status: str
    evse_id: str
    network: str | None = None


class StopSessionRequest(WireModel):
    session_id: str = Field(min_length=1)


class StopSessionResponse(WireModel):
    session_id: str
    status: str


class SessionStatusObject(WireModel):
    """``GET /v1/sessions/{id}/status``; also the ``data`` of a webhook."""

    session_id: str
    status: str
    energy_kwh: Kwh = Decimal(0)  # a meter never runs backwards
    currency: CurrencyCode | None = None  # before ``cost``, whose check reads it
    cost: MajorPrice | None = None  # major units of ``currency``
    duration_minutes: Minutes | None = None
    start_time: UtcDateTime | None = None


class ChargingPeriodWire(WireModel):
    start_period: int = Field(ge=0)  # seconds from the start of the profile
    limit: int = Field(gt=0)  # watts


class ChargingProfileRequest(WireModel):
    max_charge_rate_kw: float | None = Field(default=None, gt=0)
    departure_time: UtcDateTime | None = None
    periods: list[ChargingPeriodWire] | None = None


class ChargingProfileResponse(WireModel):
    session_id: str
    profile_set: bool
    max_charge_rate_kw: float | None = None
    departure_time: UtcDateTime | None = None
    periods: list[ChargingPeriodWire] = Field(default_factory=list)


class ClearProfileResponse(WireModel):
    session_id: str
    profile_cleared: bool


class ReceiptResponse(WireModel):
    session_id: str
    network: str | None = None
    evse_id: str | None = None
    energy_kwh: Kwh
    duration_minutes: Minutes | None = None
    currency: CurrencyCode  # before ``cost``, whose check reads it
    cost: MajorPrice
    payment_status: str | None = None


class GeoLocationWire(WireModel):
    latitude: Decimal  # OCPI sends decimal degrees as strings
    longitude: Decimal


class ConnectorWire(WireModel):
    """An OCPI Connector (the fields we use)."""

    id: str
    standard: str  # OCPI ConnectorType, e.g. IEC_62196_T2_COMBO
    format: str | None = None
    power_type: str | None = None  # AC_1_PHASE, AC_3_PHASE, DC
    max_voltage: Count | None = None
    max_amperage: Count | None = None
    max_electric_power: Count | None = None  # watts


class TariffWire(WireModel):
    currency: CurrencyCode
    price_per_kwh: MajorPrice


class LocationWire(WireModel):
    id: str
    name: str | None = None
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class EvseWire(WireModel):
    """An OCPI EVSE with its location and tariff folded in, as the search returns it."""

    evse_id: str
    uid: str | None = None
    status: str = "UNKNOWN"
    capabilities: list[str] = Field(default_factory=list)
    connectors: list[ConnectorWire] = Field(default_factory=list)
    coordinates: GeoLocationWire
    physical_reference: str | None = None
    location: LocationWire
    tariff: TariffWire | None = None
    network: str | None = None
    last_updated: UtcDateTime | None = None


class EvseList(WireModel):
    evses: list[EvseWire]


class WebhookSessionData(SessionStatusObject):
    updated_at: UtcDateTime


class WebhookBody(WireModel):
    """``{"type": "session.updated", "data": {...status object..., "updated_at"}}``."""

    type: str
    data: WebhookSessionData
