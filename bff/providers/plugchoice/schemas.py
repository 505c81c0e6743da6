"""Pydantic models of Plugchoice v3 public-charging JSON (seed ``002_*``).

Only the fields we use are declared; unknown fields are ignored so that Plugchoice can add
fields without breaking us. Amounts are integers in the currency's minor units, energy is
a decimal string in kWh, timestamps are ISO 8601 (Laravel writes microseconds and ``Z``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bff.providers.bounds import Count, Kwh, MinorUnits

_EXTRA_DIGITS = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: object) -> datetime | None:
    """A UTC-aware datetime from ISO 8601, tolerating ``Z`` and more than 6 fraction digits.

    Python 3.11's ``fromisoformat`` rejects nanoseconds, so extra digits are cut off;
    a timestamp without an offset is taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(_EXTRA_DIGITS.sub(r"\1", text, count=1))
    else:
        raise ValueError("timestamp must be an ISO 8601 string")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]


class _Model(BaseModel):
    # NaN and Infinity are no coordinates or powers.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class SessionCharger(_Model):
    public_code: str
    name: str | None = None
    online: bool | None = None


class Pricing(_Model):
    currency: str
    price_per_kwh: MinorUnits | None = None  # minor units per kWh
    start_fee: MinorUnits | None = None  # minor units


class SessionData(_Model):
    """The ``data`` object of every session endpoint."""

    status: str
    failure_reason: str | None = None
    connector_id: int | None = None
    connector_status: str | None = None
    charger: SessionCharger | None = None
    pricing: Pricing | None = None
    amount_authorized: MinorUnits | None = None
    energy_kwh: Kwh | None = None
    cost_amount: MinorUnits | None = None
    amount_captured: MinorUnits | None = None
    tax_amount: MinorUnits | None = None
    driver_email: str | None = None
    created_at: Timestamp = None
    authorized_at: Timestamp = None
    charging_started_at: Timestamp = None
    completed_at: Timestamp = None
    captured_at: Timestamp = None


class PaymentContext(_Model):
    """The Stripe context for the browser's ``stripe.confirmPayment``; only while ``created``."""

    client_secret: str | None = None
    publishable_key: str | None = None
    stripe_account_id: str | None = None


class SessionEnvelope(_Model):
    """``GET /sessions/{token}`` and the answers of confirm, stop and cancel."""

    data: SessionData
    payment: PaymentContext | None = None


class StartResponse(_Model):
    """``POST /sessions`` (201): the token is a credential; keep it out of IDs and logs."""

    session_token: str = Field(repr=False)
    data: SessionData
    payment: PaymentContext | None = None


class StartBody(_Model):
    """The body of ``POST /sessions``; ``code`` is the charger's public code."""

    code: str = Field(min_length=1, max_length=10)
    connector_id: int = Field(ge=1, le=100)
    email: str | None = Field(default=None, max_length=255)


class Address(_Model):
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None


class ChargerConnector(_Model):
    connector_id: int
    status: str | None = None
    standard: str | None = None  # OCPI names, e.g. IEC_62196_T2
    format: str | None = None  # Socket or Cable
    power_type: str | None = None  # AC_1_PHASE, AC_3_PHASE, DC
    max_voltage: Count | None = None
    max_amperage: Count | None = None


class PublicCharger(_Model):
    """One charger with public charging, as ``GET /chargers`` lists it."""

    public_code: str
    evse_id: str | None = None  # the eMI3 EVSE id, where the charger has one
    name: str | None = None
    online: bool = True
    latitude: float
    longitude: float
    address: Address | None = None
    pricing: Pricing | None = None
    connectors: list[ChargerConnector] = Field(default_factory=list)


class ChargerList(_Model):
    data: list[PublicCharger]


class ErrorBody(_Model):
    """Laravel's error shape: a message and, for 422, the fields at fault."""

    message: str | None = None
    errors: dict[str, list[str]] | None = None
