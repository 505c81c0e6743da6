"""Pydantic models of the Drive API's JSON (seed ``000_*`` and ``001_*``).

Models ignore fields they do not name, and status words stay plain strings: the API says
its enums grow, and a new word must reach the mapper (which treats it as FAILED) rather
than fail validation here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from bff.domain.money import MAX_INT, scaled
from bff.providers.bounds import MinorUnits


def _utc(value: datetime) -> datetime:
    # Naive provider timestamps are UTC by the API's contract.
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00: pydantic reports ValueErrors only
        raise ValueError("timestamp out of range") from None


#: A provider timestamp (pydantic parses nanosecond fractions), normalized to UTC.
ProviderDateTime = Annotated[datetime, AfterValidator(_utc)]


def _whole(value: object) -> object:
    # Minor units arrive as numbers or strings ("-2160", even "-2160.0"); never fractions.
    if isinstance(value, str | float) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except ArithmeticError:
            return value  # let pydantic report it
        # Not int() of "1e999999999": a billion digits. Out of range, pydantic reports it.
        if amount.is_finite() and amount.copy_abs() <= MAX_INT:
            if amount == amount.to_integral_value():
                return int(amount)
    return value


#: An integer amount in minor units, however the provider spelled it.
Minor = Annotated[MinorUnits, BeforeValidator(_whole)]


class _Model(BaseModel):
    # NaN and Infinity are no coordinates, powers or amounts.
    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, frozen=True, allow_inf_nan=False
    )


class ChargerInfo(_Model):
    charging_station_name: str | None = None
    city: str | None = None
    connector_label: str | None = None
    evse_id: str | None = None
    street_name: str | None = None


class EnergyAmount(_Model):
    unit: str = "WH"  # WH or KWH
    value: Decimal = Field(ge=0)  # a meter never runs backwards

    @model_validator(mode="after")
    def _fits(self) -> EnergyAmount:
        scaled(self.value, 3 if self.unit.upper() == "KWH" else 0, "energy")  # or InvalidAmount
        return self


class PriceAmount(_Model):
    currency_code: str
    minor_excl_vat: Minor | None = None
    minor_incl_vat: Minor
    vat: str | None = None  # a decimal percentage as a string, e.g. "17.5"


class TransactionModel(_Model):
    payment_method: str | None = None
    payment_outcome: str | None = None
    amount: PriceAmount | None = None
    time: ProviderDateTime | None = None


class SessionModel(_Model):
    """``GET /drive/v1/users/{userId}/sessions/{sessionId}``."""

    session_id: str
    session_status: str
    connector_id: str | None = None
    transactions: list[TransactionModel] = []
    balance_amount_minor: Minor | None = None  # sent as a string ("-2160")
    balance_status: str | None = None
    charger: ChargerInfo | None = None
    charging_key_type: str | None = None
    duration: str | None = None  # ISO 8601, e.g. "PT28.913S"
    energy: EnergyAmount | None = None
    payment_method: str | None = None  # deprecated upstream
    price: PriceAmount | None = None
    receipt_available: bool = False
    site: str | None = None
    start_time: ProviderDateTime | None = None


class SessionPageModel(_Model):
    """``GET /drive/v1/users/{userId}/sessions``: newest first, with an opaque cursor."""

    sessions: list[SessionModel] = []
    next_cursor: str | None = None


class Coordinates(_Model):
    latitude: float
    longitude: float


class Address(_Model):
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class ConnectorModel(_Model):
    id: str  # long base64 connector id, what ``sessions/start`` takes
    label: str | None = None
    standard: str | None = None  # OCPI ConnectorType, e.g. IEC_62196_T2_COMBO
    power_type: str | None = None  # AC_1_PHASE, AC_3_PHASE, DC
    max_power_kw: float | None = None
    status: str | None = None


class TariffModel(_Model):
    currency_code: str
    price_per_kwh_minor_incl_vat: Minor | None = None
    start_fee_minor_incl_vat: Minor | None = None
    per_minute_minor_incl_vat: Minor | None = None
    vat: str | None = None


class EvseModel(_Model):
    evse_id: str
    charging_station_name: str | None = None
    status: str | None = None
    capabilities: list[str] = []
    connectors: list[ConnectorModel] = []
    tariff: TariffModel | None = None


class LocationModel(_Model):
    id: str
    name: str | None = None
    coordinates: Coordinates
    address: Address | None = None
    status: str | None = None
    evses: list[EvseModel] = []


class LocationsResponse(_Model):
    """Geosearch and the batch EVSE lookup both answer with locations and their EVSEs."""

    locations: list[LocationModel] = []


class StartResponse(_Model):
    session_id: str


class PaymentChallenge(_Model):
    """A 402 from ``sessions/start``: the app must finish a 3-D Secure step."""

    session_id: str | None = None
    client_secret: str | None = None
    code: str | None = None


class ErrorBody(_Model):
    code: str | None = None
    message: str | None = None


class ReceiptModel(_Model):
    url: str
    expires_at: ProviderDateTime | None = None


class TokenResponse(BaseModel):
    """OAuth2 token endpoint answer (snake_case by RFC 6749)."""

    model_config = ConfigDict(extra="ignore")

    access_token: str
    expires_in: int = 300
    token_type: str = "Bearer"


class WebhookPayload(_Model):
    user_id: str
    session_id: str
    timestamp: ProviderDateTime


class WebhookBody(_Model):
    event: str
    payload: WebhookPayload
