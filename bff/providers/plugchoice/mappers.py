"""Pure functions from Plugchoice JSON models to the domain."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bff.domain.model import (
    Charger,
    ChargerStatus,
    ChargingSession,
    Connector,
    Cost,
    Energy,
    GeoPoint,
    Payment,
    Provider,
    Receipt,
    Tariff,
)
from bff.domain.money import MAX_INT, Money
from bff.providers.plugchoice.constants import (
    CAPTURED_WORDS,
    EXPIRED_REASON,
    FINAL_UNCAPTURED_WORDS,
    HOME_CURRENCY,
    HOME_VAT_PERCENT,
    NO_CHARGE_REASON,
    map_connector_standard,
    map_connector_status,
    map_payment_status,
    map_session_status,
)
from bff.providers.plugchoice.schemas import (
    ChargerConnector,
    PaymentContext,
    PublicCharger,
    SessionData,
)

log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
_RUNNING_WORDS = frozenset({"charging", "stopping"})


def session_id_for_token(token: str) -> str:
    """A stable, non-secret session id: the token is a credential and never an ID."""
    return hashlib.sha256(token.encode()).hexdigest()[:20]


def money(amount_minor: int | None, currency: str | None) -> Money | None:
    """Money from Plugchoice's minor units, or None when either part is missing."""
    if amount_minor is None or not currency:
        return None
    try:
        return Money(amount_minor, currency.upper())
    except ValueError as exc:  # an unknown currency, or an amount out of range
        log.warning("Plugchoice sent money we cannot hold: %s", exc)
        return None


def to_cost(data: SessionData) -> Cost | None:
    """The captured cost with its VAT split once captured; else the running cost."""
    currency = data.pricing.currency if data.pricing else None
    captured = money(data.amount_captured, currency)
    if captured is not None:
        if data.tax_amount is None:
            return Cost(total=captured, estimated=False)
        excl = captured.amount_minor - data.tax_amount
        vat_percent = vat_rate(captured.amount_minor, data.tax_amount, captured.currency)
        return Cost(
            total=captured,
            excl_vat=money(excl, captured.currency),
            vat_percent=vat_percent,
            estimated=False,
        )
    running = money(data.cost_amount, currency)
    if running is None:
        return None
    # capture_failed / written_off: priced and over, so the amount no longer moves.
    return Cost(total=running, estimated=data.status not in FINAL_UNCAPTURED_WORDS)


def vat_rate(total: int, tax: int, currency: str) -> Decimal | None:
    """The VAT rate behind a VAT-inclusive ``total`` and its ``tax`` (both minor units).

    Plugchoice states the amount, not the rate, and the ratio of two rounded amounts is
    not a rate (EUR 0.61 with 0.11 VAT reads 22%, where the Dutch rate is 21). So: the
    home rate (:data:`HOME_VAT_PERCENT`, in euros) when it explains the amounts to a
    minor unit, else the whole percent nearest the ratio when that does, else the ratio.
    """
    excl = total - tax
    if excl <= 0 or tax < 0:
        return None
    if currency == HOME_CURRENCY and _explains(HOME_VAT_PERCENT, total, tax):
        return HOME_VAT_PERCENT
    ratio = Decimal(tax) * 100 / Decimal(excl)
    whole = ratio.to_integral_value(ROUND_HALF_UP)
    return whole if _explains(whole, total, tax) else ratio.quantize(_CENT, ROUND_HALF_UP)


def _explains(rate: Decimal, total: int, tax: int) -> bool:
    # Within one minor unit: Plugchoice may round the tax half up, down or up.
    return abs(Decimal(total) * rate / (100 + rate) - tax) <= 1


def to_payment(data: SessionData, context: PaymentContext | None = None) -> Payment:
    currency = data.pricing.currency if data.pricing else None
    word = data.status.strip().lower()
    # Plugchoice sends the Stripe context only while the pre-authorization awaits the driver.
    secret = context if context is not None and word == "created" else None
    return Payment(
        status=map_payment_status(word),
        authorized=money(data.amount_authorized, currency),
        captured=money(data.amount_captured, currency),
        outstanding=money(data.cost_amount, currency) if word == "capture_failed" else None,
        client_secret=secret.client_secret if secret else None,
        publishable_key=secret.publishable_key if secret else None,
    )


def to_session(
    data: SessionData,
    *,
    token: str,
    observed_at: datetime,
    payment: PaymentContext | None = None,
) -> ChargingSession:
    """A domain session; ``observed_at`` is when we asked (Plugchoice has no updated_at)."""
    word = data.status.strip().lower()
    started, ended = data.charging_started_at, data.completed_at
    end_for_duration = ended or (observed_at if word in _RUNNING_WORDS else None)
    duration = (
        max(0, int((end_for_duration - started).total_seconds()))
        if started is not None and end_for_duration is not None
        else None
    )
    if duration is not None and duration > MAX_INT:  # a start in year 1: no duration to show
        log.warning("Plugchoice session started at %s: duration out of range", started)
        duration = None
    failure_reason = data.failure_reason
    if failure_reason is None and word == "no_charge":
        failure_reason = NO_CHARGE_REASON
    elif failure_reason is None and word == "expired":
        failure_reason = EXPIRED_REASON
    return ChargingSession(
        provider=Provider.PLUGCHOICE,
        id=session_id_for_token(token),
        status=map_session_status(word),
        provider_status=data.status,
        observed_at=observed_at,
        charger_id=data.charger.public_code if data.charger else None,
        connector_id=str(data.connector_id) if data.connector_id is not None else None,
        charger_name=data.charger.name if data.charger else None,
        started_at=started,
        ended_at=ended,
        duration_seconds=duration,
        energy=Energy.from_kwh(data.energy_kwh) if data.energy_kwh is not None else None,
        cost=to_cost(data),
        payment=to_payment(data, payment),
        receipt_available=word in CAPTURED_WORDS and data.amount_captured is not None,
        failure_reason=failure_reason,
        remote=True,
        created_at=data.created_at,
    )


def connector_power_kw(c: ChargerConnector) -> float:
    """Nominal power from voltage and current: three phases carry three times one."""
    if c.max_voltage is None or c.max_amperage is None:
        return 0.0
    phases = 3 if (c.power_type or "").upper() == "AC_3_PHASE" else 1
    return round(phases * c.max_voltage * c.max_amperage / 1000, 1)


def to_connector(c: ChargerConnector, online: bool) -> Connector:
    return Connector(
        id=str(c.connector_id),
        label=str(c.connector_id),
        standard=map_connector_standard(c.standard),
        power_kw=connector_power_kw(c),
        status=map_connector_status(c.status, online),
    )


def charger_status(online: bool, connectors: tuple[Connector, ...]) -> ChargerStatus:
    """The best any connector offers: one free connector makes the charger AVAILABLE."""
    if not online:
        return ChargerStatus.OFFLINE
    for status in (
        ChargerStatus.AVAILABLE,
        ChargerStatus.OCCUPIED,
        ChargerStatus.RESERVED,
        ChargerStatus.OUT_OF_ORDER,
    ):
        if any(c.status is status for c in connectors):
            return status
    return ChargerStatus.UNKNOWN


def to_charger(c: PublicCharger) -> Charger:
    connectors = tuple(to_connector(x, c.online) for x in c.connectors)
    currency = c.pricing.currency if c.pricing else None
    tariff = (
        Tariff(
            price_per_kwh=money(c.pricing.price_per_kwh, currency),
            start_fee=money(c.pricing.start_fee, currency),
        )
        if c.pricing is not None
        else None
    )
    return Charger(
        provider=Provider.PLUGCHOICE,
        id=c.public_code,
        evse_id=c.evse_id or None,  # a public code is not one; some chargers have one
        name=c.name or c.public_code,
        location=GeoPoint(c.latitude, c.longitude),
        status=charger_status(c.online, connectors),
        remote_start_stop=True,
        smart_charging=False,
        connectors=connectors,
        tariff=tariff,
        city=c.address.city if c.address else None,
        street=c.address.street if c.address else None,
    )


def to_receipt(data: SessionData) -> Receipt:
    """Plugchoice e-mails the receipt (to ``driver_email``) and offers no document: its
    data, from which the BFF renders its own, once the payment is captured."""
    if data.amount_captured is None:
        return Receipt(available=False)
    ended = data.completed_at
    started = data.charging_started_at
    return Receipt(
        available=True,
        cost=to_cost(data),
        charger_name=data.charger.name if data.charger else None,
        energy=Energy.from_kwh(data.energy_kwh) if data.energy_kwh is not None else None,
        started_at=started,
        ended_at=ended,
        duration_seconds=(
            max(0, int((ended - started).total_seconds())) if started and ended else None
        ),
        payment_status=map_payment_status(data.status),
        emailed_to=data.driver_email or None,
    )
