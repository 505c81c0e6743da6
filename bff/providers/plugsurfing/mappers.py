"""Pure functions from the Drive API's models to the domain.

Plugsurfing has no updated-at field, so ``observed_at`` is always the time the adapter
sent the request; the caller passes it in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bff.domain.model import (
    Charger,
    ChargingSession,
    Connector,
    Cost,
    Energy,
    GeoPoint,
    Payment,
    Provider,
    Receipt,
    Tariff,
    Transaction,
)
from bff.domain.money import MAX_INT, Money, currency_exponent
from bff.providers.plugsurfing.constants import (
    ENDED_WORDS,
    FINAL_PRICE_WORDS,
    REMOTE_CAPABILITY,
    map_balance_status,
    map_charger_status,
    map_connector_standard,
    map_session_status,
)
from bff.providers.plugsurfing.schemas import (
    ConnectorModel,
    EnergyAmount,
    EvseModel,
    LocationModel,
    LocationsResponse,
    PriceAmount,
    ReceiptModel,
    SessionModel,
    TariffModel,
    TransactionModel,
)

log = logging.getLogger(__name__)

_DURATION = re.compile(
    r"P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)
#: Remote (API) starts have ``virtual`` keys; a missing key type means not yet started,
#: which only remote starts are.
_REMOTE_KEY_TYPES = frozenset({None, "virtual"})


def parse_iso_duration(value: str | None) -> timedelta | None:
    """``PT28.913S``, ``PT15M``, ``P1DT2H`` -> timedelta; None when absent or malformed."""
    if not value:
        return None
    text = value.strip().upper()
    match = _DURATION.fullmatch(text)
    # "P", "PT" and "P1DT" match the pattern but are not durations.
    if match is None or not any(match.groupdict().values()) or text.endswith("T"):
        log.warning("malformed plugsurfing duration %r", value)
        return None
    parts = match.groupdict()
    seconds = Decimal((parts["seconds"] or "0").replace(",", "."))
    try:
        duration = timedelta(
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=float(seconds),
        )
    except OverflowError:
        duration = timedelta.max
    if duration.total_seconds() > MAX_INT:
        log.warning("plugsurfing duration out of range %r", value[:40])
        return None
    return duration


def money(amount_minor: int, currency: str) -> Money | None:
    """Money, or None (logged) when the currency is not ISO 4217."""
    try:
        return Money(amount_minor, currency.upper())
    except ValueError:
        log.warning("plugsurfing sent an unknown currency %r", currency)
        return None


def _is_currency(code: str) -> bool:
    try:
        currency_exponent(code)
    except ValueError:
        return False
    return True


def _vat_percent(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        vat = Decimal(value)
    except InvalidOperation:
        vat = Decimal("NaN")
    if not vat.is_finite() or not 0 <= vat <= 100:
        log.warning("malformed plugsurfing VAT %r", value[:40])
        return None
    return vat


def energy_from_model(energy: EnergyAmount | None) -> Energy | None:
    if energy is None:
        return None
    unit = energy.unit.upper()
    if unit == "KWH":
        return Energy.from_kwh(energy.value)
    if unit == "WH":
        return Energy(int(energy.value.to_integral_value(rounding=ROUND_HALF_UP)))
    log.warning("unknown plugsurfing energy unit %r", energy.unit)
    return None


def cost_from_price(price: PriceAmount | None, *, estimated: bool) -> Cost | None:
    if price is None:
        return None
    total = money(price.minor_incl_vat, price.currency_code)
    if total is None:
        return None
    excl = None if price.minor_excl_vat is None else money(price.minor_excl_vat, total.currency)
    vat = _vat_percent(price.vat)
    return Cost(total=total, excl_vat=excl, vat_percent=vat, estimated=estimated)


def transaction_from_model(tx: TransactionModel) -> Transaction | None:
    amount = None if tx.amount is None else money(tx.amount.minor_incl_vat, tx.amount.currency_code)
    if amount is None:
        return None
    return Transaction(
        method=tx.payment_method or "UNKNOWN",
        outcome=tx.payment_outcome or "UNKNOWN",
        amount=amount,
        at=tx.time,
    )


def payment_from_model(m: SessionModel) -> Payment:
    transactions = tuple(t for t in map(transaction_from_model, m.transactions) if t is not None)
    # The session's currency: the price's when it is a real one, else the transactions'.
    currencies = [m.price.currency_code.upper()] if m.price else []
    currencies += [t.amount.currency for t in transactions]
    currency = next((c for c in currencies if _is_currency(c)), None)
    outstanding = None
    # The balance is the remaining amount to pay as a negative number; 0 is fully paid.
    if m.balance_amount_minor is not None and m.balance_amount_minor < 0 and currency:
        outstanding = money(-m.balance_amount_minor, currency)
    return Payment(
        status=map_balance_status(m.balance_status),
        outstanding=outstanding,
        transactions=transactions,
    )


def session_from_model(m: SessionModel, observed_at: datetime) -> ChargingSession:
    """One session; ``observed_at`` is when the adapter asked (there is no updated-at)."""
    status, stop_failed = map_session_status(m.session_status)
    duration = parse_iso_duration(m.duration)
    ended_at = None
    if m.start_time is not None and duration is not None and m.session_status in ENDED_WORDS:
        try:
            ended_at = m.start_time + duration
        except OverflowError:  # a start near year 9999: no end we could show
            log.warning("plugsurfing session %s ends after year 9999", m.session_id)
    charger = m.charger
    return ChargingSession(
        provider=Provider.PLUGSURFING,
        id=m.session_id,
        status=status,
        provider_status=m.session_status,
        observed_at=observed_at,
        charger_id=charger.evse_id if charger else None,
        connector_id=m.connector_id,
        charger_name=charger.charging_station_name if charger else None,
        charger_city=charger.city if charger else None,
        started_at=m.start_time,
        ended_at=ended_at,
        duration_seconds=None if duration is None else int(duration.total_seconds()),
        energy=energy_from_model(m.energy),
        cost=cost_from_price(m.price, estimated=m.session_status not in FINAL_PRICE_WORDS),
        payment=payment_from_model(m),
        receipt_available=m.receipt_available,
        remote=m.charging_key_type in _REMOTE_KEY_TYPES,
        stop_failed=stop_failed,
    )


def tariff_from_model(t: TariffModel | None) -> Tariff | None:
    if t is None:
        return None

    def amount(minor: int | None) -> Money | None:
        return None if minor is None else money(minor, t.currency_code)

    return Tariff(
        price_per_kwh=amount(t.price_per_kwh_minor_incl_vat),
        start_fee=amount(t.start_fee_minor_incl_vat),
        per_minute=amount(t.per_minute_minor_incl_vat),
    )


def connector_from_model(c: ConnectorModel, index: int, evse_status: str | None) -> Connector:
    return Connector(
        id=c.id,
        label=c.label or str(index + 1),
        standard=map_connector_standard(c.standard),
        power_kw=c.max_power_kw or 0.0,
        status=map_charger_status(c.status or evse_status),
    )


def charger_from_evse(location: LocationModel, evse: EvseModel) -> Charger:
    address = location.address
    return Charger(
        provider=Provider.PLUGSURFING,
        id=evse.evse_id,
        evse_id=evse.evse_id,
        name=evse.charging_station_name or location.name or evse.evse_id,
        location=GeoPoint(location.coordinates.latitude, location.coordinates.longitude),
        status=map_charger_status(evse.status),
        remote_start_stop=REMOTE_CAPABILITY in evse.capabilities,
        smart_charging=False,
        connectors=tuple(
            connector_from_model(c, i, evse.status) for i, c in enumerate(evse.connectors)
        ),
        tariff=tariff_from_model(evse.tariff),
        site=location.name,
        city=address.city if address else None,
        street=address.street if address else None,
    )


def chargers_from_locations(response: LocationsResponse) -> Iterator[Charger]:
    """Every EVSE of every location, as one charger each."""
    for location in response.locations:
        for evse in location.evses:
            yield charger_from_evse(location, evse)


def receipt_from_model(r: ReceiptModel, session: ChargingSession) -> Receipt:
    """The signed URL of Plugsurfing's PDF, with the session's data beside it."""
    return Receipt(
        available=True,
        url=r.url,
        expires_at=r.expires_at,
        cost=session.cost,
        charger_name=session.charger_name,
        evse_id=session.charger_id,  # Plugsurfing's charger ids are EVSE ids
        energy=session.energy,
        started_at=session.started_at,
        ended_at=session.ended_at,
        duration_seconds=session.duration_seconds,
        payment_status=session.payment.status if session.payment else None,
    )
