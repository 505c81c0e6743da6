"""The domain model: chargers, sessions and what hangs off them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from bff.domain.money import MAX_INT, InvalidAmount, Money, scaled


class Provider(StrEnum):
    PLUGSURFING = "PLUGSURFING"
    PLUGCHOICE = "PLUGCHOICE"
    ROAMING = "ROAMING"


class SessionStatus(StrEnum):
    STARTING = "STARTING"
    CHARGING = "CHARGING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"  # ended, not yet priced
    COMPLETED = "COMPLETED"  # priced
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"  # the driver gave up on it
    REFUNDED = "REFUNDED"


class PaymentStatus(StrEnum):
    NONE = "NONE"  # nothing to pay (yet)
    REQUIRES_ACTION = "REQUIRES_ACTION"  # the driver must complete a card step (3DS, pre-auth)
    AUTHORIZED = "AUTHORIZED"
    PROCESSING = "PROCESSING"
    PAID = "PAID"
    DEBT = "DEBT"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"
    WRITTEN_OFF = "WRITTEN_OFF"


class ChargerStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    OCCUPIED = "OCCUPIED"
    RESERVED = "RESERVED"
    OUT_OF_ORDER = "OUT_OF_ORDER"
    OFFLINE = "OFFLINE"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Energy:
    watt_hours: int

    def __post_init__(self) -> None:
        if not 0 <= self.watt_hours <= MAX_INT:  # a meter never runs backwards
            raise InvalidAmount("energy is out of range")

    @property
    def kilowatt_hours(self) -> float:
        return self.watt_hours / 1000

    @classmethod
    def from_kwh(cls, kwh: Decimal | float | str) -> Energy:
        """Wh from kWh, rounded half up; :class:`InvalidAmount` when not finite or out of
        range."""
        return cls(scaled(kwh if isinstance(kwh, Decimal) else str(kwh), 3, "energy"))


@dataclass(frozen=True, slots=True)
class Connector:
    id: str  # the provider's connector id, unique within the provider
    label: str  # its number at the charger as drivers see it ("1", "2"), for every provider
    standard: str  # e.g. CCS, TYPE2, CHADEMO
    power_kw: float
    status: ChargerStatus = ChargerStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class Tariff:
    """A charger's prices. A fee the charger does not charge (``start_fee``,
    ``per_minute``) is None, never a zero amount, whatever the provider sends."""

    price_per_kwh: Money | None = None
    start_fee: Money | None = None
    per_minute: Money | None = None

    def __post_init__(self) -> None:
        for name in ("start_fee", "per_minute"):
            fee = getattr(self, name)
            if fee is not None and fee.amount_minor == 0:
                object.__setattr__(self, name, None)


@dataclass(frozen=True, slots=True)
class Charger:
    """One chargeable point (an EVSE): what the driver picks on the map."""

    provider: Provider
    id: str  # the provider's charger id (EVSE id or public code)
    evse_id: str | None
    name: str
    location: GeoPoint
    status: ChargerStatus
    remote_start_stop: bool
    smart_charging: bool
    connectors: tuple[Connector, ...]
    tariff: Tariff | None = None
    site: str | None = None
    city: str | None = None
    street: str | None = None

    def connector(self, connector_id: str) -> Connector | None:
        return next((c for c in self.connectors if c.id == connector_id), None)


@dataclass(frozen=True, slots=True)
class Cost:
    total: Money
    excl_vat: Money | None = None
    vat_percent: Decimal | None = None
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Transaction:
    method: str
    outcome: str
    amount: Money
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Payment:
    status: PaymentStatus
    outstanding: Money | None = None
    authorized: Money | None = None
    captured: Money | None = None
    transactions: tuple[Transaction, ...] = ()
    client_secret: str | None = None  # for the app's card step; never logged
    publishable_key: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A session's receipt: its data, whatever the provider, and ``url``, the provider's
    own document where it has one (Plugsurfing's signed PDF). Where it has none, the BFF
    serves a document of its own from this data (:mod:`bff.usecases.receipts`)."""

    available: bool
    url: str | None = None
    expires_at: datetime | None = None
    cost: Cost | None = None
    network: str | None = None  # the charging network, where the provider names one
    charger_name: str | None = None
    evse_id: str | None = None
    energy: Energy | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    payment_status: PaymentStatus | None = None
    emailed_to: str | None = None  # where the provider e-mailed a copy


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    start_seconds: int
    limit_watts: int


@dataclass(frozen=True, slots=True)
class ChargingProfile:
    max_charge_rate_kw: float | None = None
    departure_time: datetime | None = None
    periods: tuple[ChargingPeriod, ...] = ()


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """A session as the provider reports it, normalized.

    ``observed_at`` is the provider's own timestamp for this state when it has one, else
    the time we asked; reconciliation keeps the newest.
    """

    provider: Provider
    id: str  # the provider's session id
    status: SessionStatus
    provider_status: str
    observed_at: datetime
    charger_id: str | None = None
    connector_id: str | None = None
    charger_name: str | None = None
    charger_city: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    energy: Energy | None = None
    power_kw: float | None = None
    cost: Cost | None = None
    payment: Payment | None = None
    receipt_available: bool = False
    failure_reason: str | None = None
    remote: bool = True  # started remotely (only those can be stopped remotely)
    stop_failed: bool = False
    charging_profile: ChargingProfile | None = None
    created_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)  # provider bits the adapter needs later

    @property
    def sort_time(self) -> datetime:
        return self.started_at or self.created_at or self.observed_at


@dataclass(frozen=True, slots=True)
class SessionFilter:
    statuses: frozenset[SessionStatus] | None = None
    providers: frozenset[Provider] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None

    def matches(self, s: ChargingSession) -> bool:
        if self.statuses is not None and s.status not in self.statuses:
            return False
        if self.providers is not None and s.provider not in self.providers:
            return False
        t = s.sort_time
        if self.started_after is not None and t < self.started_after:
            return False
        return not (self.started_before is not None and t >= self.started_before)


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One provider's page of a driver's sessions, newest first."""

    sessions: tuple[ChargingSession, ...]
    next_cursor: str | None  # the provider's own cursor; None when exhausted


@dataclass(frozen=True, slots=True)
class SessionRef:
    """What reaches one session at its provider for one driver.

    ``extra`` holds what the BFF stored when it started the session (e.g. Plugchoice's
    session token, which is a credential and never appears in an ID).
    """

    driver_id: str
    session_id: str
    extra: Mapping[str, str] = field(default_factory=dict)
