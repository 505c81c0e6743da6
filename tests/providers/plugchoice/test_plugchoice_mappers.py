"""Plugchoice JSON (the seed's field shapes) to the domain."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bff.domain.model import (
    ChargerStatus,
    Energy,
    GeoPoint,
    PaymentStatus,
    Provider,
    SessionStatus,
)
from bff.domain.money import Money
from bff.providers.plugchoice.mappers import (
    session_id_for_token,
    to_charger,
    to_cost,
    to_session,
)
from bff.providers.plugchoice.schemas import (
    PublicCharger,
    SessionData,
    SessionEnvelope,
    StartResponse,
    parse_timestamp,
)

TOKEN = "pc_tok_9f8e7d6c5b4a"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def seed_session(**overrides: Any) -> dict[str, Any]:
    """Every field of the seed's ``data`` object, with plausible values."""
    data: dict[str, Any] = {
        "status": "charging",
        "failure_reason": None,
        "connector_id": 2,
        "connector_status": "Charging",
        "charger": {"public_code": "UTR01", "name": "Domplein", "online": True},
        "pricing": {"currency": "EUR", "price_per_kwh": 39, "start_fee": 50},
        "amount_authorized": 5000,
        "energy_kwh": "12.345",
        "cost_amount": 531,
        "amount_captured": None,
        "tax_amount": None,
        "driver_email": "driver@example.nl",
        "created_at": "2025-03-01T11:00:00.000000Z",
        "authorized_at": "2025-03-01T11:00:30.000000Z",
        "charging_started_at": "2025-03-01T11:01:00.000000Z",
        "completed_at": None,
        "captured_at": None,
    }
    data.update(overrides)
    return data


def session(**overrides: Any) -> SessionData:
    return SessionEnvelope.model_validate_json(json.dumps({"data": seed_session(**overrides)})).data


def test_charging_session_from_the_seed_shape() -> None:
    s = to_session(session(), token=TOKEN, observed_at=NOW)
    assert s.provider is Provider.PLUGCHOICE
    assert s.status is SessionStatus.CHARGING
    assert s.provider_status == "charging"
    assert s.charger_id == "UTR01"
    assert s.charger_name == "Domplein"
    assert s.connector_id == "2"
    assert s.energy == Energy(12345)
    assert s.created_at == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert s.started_at == datetime(2025, 3, 1, 11, 1, tzinfo=UTC)
    assert s.ended_at is None
    assert s.duration_seconds == 59 * 60  # still running: up to when we asked
    assert s.observed_at == NOW
    assert s.remote is True
    assert s.receipt_available is False
    assert s.cost is not None
    assert s.cost.total == Money(531, "EUR")
    assert s.cost.estimated is True
    assert s.cost.excl_vat is None
    assert s.payment is not None
    assert s.payment.status is PaymentStatus.AUTHORIZED
    assert s.payment.authorized == Money(5000, "EUR")
    assert s.payment.captured is None
    assert s.payment.client_secret is None


def test_session_id_is_derived_from_but_does_not_reveal_the_token() -> None:
    s = to_session(session(), token=TOKEN, observed_at=NOW)
    assert s.id == hashlib.sha256(TOKEN.encode()).hexdigest()[:20]
    assert s.id == session_id_for_token(TOKEN)
    assert TOKEN not in s.id
    assert session_id_for_token(TOKEN + "x") != s.id


def test_captured_cost_splits_the_included_vat() -> None:
    data = session(
        status="captured",
        cost_amount=1210,
        amount_captured=1210,
        tax_amount=210,
        completed_at="2025-03-01T11:31:00.000000Z",
        captured_at="2025-03-01T11:32:00.000000Z",
    )
    s = to_session(data, token=TOKEN, observed_at=NOW)
    assert s.status is SessionStatus.COMPLETED
    assert s.cost is not None
    assert s.cost.total == Money(1210, "EUR")
    assert s.cost.excl_vat == Money(1000, "EUR")
    assert s.cost.vat_percent == Decimal("21.00")
    assert s.cost.estimated is False
    assert s.payment is not None
    assert s.payment.status is PaymentStatus.PAID
    assert s.payment.captured == Money(1210, "EUR")
    assert s.receipt_available is True
    assert s.ended_at == datetime(2025, 3, 1, 11, 31, tzinfo=UTC)
    assert s.duration_seconds == 30 * 60


def test_vat_percent_is_the_rate_not_a_ratio_of_rounded_amounts() -> None:
    # EUR 0.61 incl. with 0.11 VAT: 0.11 / 0.50 reads 22%, the Dutch rate is 21%.
    cost = to_cost(session(status="captured", amount_captured=61, tax_amount=11))
    assert cost is not None
    assert cost.excl_vat == Money(50, "EUR")
    assert cost.vat_percent == Decimal(21)
    # Amounts the home rate does not explain: the whole percent that does (19 here).
    cost = to_cost(session(status="captured", amount_captured=1190, tax_amount=190))
    assert cost is not None and cost.vat_percent == Decimal(19)
    # Nothing whole explains them: the ratio, to two places.
    cost = to_cost(session(status="captured", amount_captured=1000, tax_amount=183))
    assert cost is not None and cost.vat_percent == Decimal("22.40")


def test_captured_without_tax_has_no_split() -> None:
    cost = to_cost(session(status="captured", amount_captured=700, tax_amount=None))
    assert cost is not None
    assert (cost.total, cost.excl_vat, cost.vat_percent) == (Money(700, "EUR"), None, None)
    assert cost.estimated is False


def test_zero_captured_amount_has_no_vat_percent() -> None:
    cost = to_cost(session(status="captured", amount_captured=0, tax_amount=0))
    assert cost is not None
    assert cost.excl_vat == Money(0, "EUR")
    assert cost.vat_percent is None


def test_minor_units_follow_the_currency_exponent() -> None:
    pricing = {"currency": "jpy", "price_per_kwh": 45, "start_fee": 100}
    s = to_session(
        session(pricing=pricing, status="captured", amount_captured=1100, tax_amount=100),
        token=TOKEN,
        observed_at=NOW,
    )
    assert s.cost is not None
    assert s.cost.total == Money(1100, "JPY")
    assert s.cost.total.major == Decimal(1100)
    assert s.cost.excl_vat == Money(1000, "JPY")
    assert s.cost.vat_percent == Decimal("10.00")


def test_capture_failed_leaves_the_cost_outstanding() -> None:
    s = to_session(
        session(status="capture_failed", cost_amount=880, completed_at="2025-03-01T11:40:00Z"),
        token=TOKEN,
        observed_at=NOW,
    )
    assert s.status is SessionStatus.COMPLETED
    assert s.payment is not None
    assert s.payment.status is PaymentStatus.FAILED
    assert s.payment.outstanding == Money(880, "EUR")
    assert s.cost is not None
    assert s.cost.total == Money(880, "EUR")
    assert s.cost.estimated is False  # final, just not paid
    assert s.receipt_available is False


def test_without_pricing_there_is_no_money() -> None:
    s = to_session(session(pricing=None), token=TOKEN, observed_at=NOW)
    assert s.cost is None
    assert s.payment is not None
    assert s.payment.status is PaymentStatus.AUTHORIZED
    assert s.payment.authorized is None


def test_unknown_currency_is_dropped_not_fatal() -> None:
    pricing = {"currency": "ZZZ", "price_per_kwh": 1, "start_fee": 0}
    s = to_session(session(pricing=pricing), token=TOKEN, observed_at=NOW)
    assert s.cost is None


@pytest.mark.parametrize(
    ("word", "reason"),
    [
        ("no_charge", "The session ended without delivering energy."),
        ("expired", "The payment was not confirmed in time."),
    ],
)
def test_failure_reason_defaults(word: str, reason: str) -> None:
    s = to_session(session(status=word), token=TOKEN, observed_at=NOW)
    assert s.status is SessionStatus.FAILED
    assert s.failure_reason == reason


def test_provider_failure_reason_is_kept() -> None:
    s = to_session(
        session(status="failed", failure_reason="Charger rejected", charging_started_at=None),
        token=TOKEN,
        observed_at=NOW,
    )
    assert s.failure_reason == "Charger rejected"
    assert s.started_at is None
    assert s.duration_seconds is None


def test_null_fields_map_to_none() -> None:
    nulls = {k: None for k in seed_session() if k not in ("status",)}
    s = to_session(session(**nulls), token=TOKEN, observed_at=NOW)
    assert s.status is SessionStatus.CHARGING
    assert (s.charger_id, s.connector_id, s.energy, s.cost, s.started_at) == (None,) * 5


def test_start_response_carries_the_stripe_context_only_while_created() -> None:
    raw = {
        "session_token": TOKEN,
        "data": seed_session(status="created", energy_kwh=None, cost_amount=None),
        "payment": {
            "client_secret": "pi_123_secret_456",
            "publishable_key": "pk_test_abc",
            "stripe_account_id": "acct_1",
        },
    }
    started = StartResponse.model_validate(raw)
    assert TOKEN not in repr(started)
    s = to_session(started.data, token=TOKEN, observed_at=NOW, payment=started.payment)
    assert s.payment is not None
    assert s.payment.status is PaymentStatus.REQUIRES_ACTION
    assert s.payment.client_secret == "pi_123_secret_456"
    assert s.payment.publishable_key == "pk_test_abc"
    later = to_session(session(), token=TOKEN, observed_at=NOW, payment=started.payment)
    assert later.payment is not None
    assert later.payment.client_secret is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-01-30T10:00:00.111111111Z", datetime(2021, 1, 30, 10, 0, 0, 111111, tzinfo=UTC)),
        ("2021-01-30T10:00:00Z", datetime(2021, 1, 30, 10, tzinfo=UTC)),
        ("2021-01-30T12:00:00+02:00", datetime(2021, 1, 30, 10, tzinfo=UTC)),
        ("2021-01-30T10:00:00", datetime(2021, 1, 30, 10, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_timestamps(raw: str | None, expected: datetime | None) -> None:
    assert parse_timestamp(raw) == expected


def test_bad_timestamp_is_a_validation_error() -> None:
    with pytest.raises(ValueError):
        session(created_at="yesterday")


def public_charger(**overrides: Any) -> PublicCharger:
    raw: dict[str, Any] = {
        "public_code": "UTR02",
        "name": "Neude",
        "online": True,
        "latitude": 52.0934,
        "longitude": 5.1186,
        "address": {"street": "Neude 11", "postal_code": "3512 AE", "city": "Utrecht"},
        "pricing": {"currency": "EUR", "price_per_kwh": 39, "start_fee": 50},
        "connectors": [
            {
                "connector_id": 1,
                "status": "Available",
                "standard": "IEC_62196_T2",
                "power_type": "AC_3_PHASE",
                "max_voltage": 230,
                "max_amperage": 16,
            },
            {
                "connector_id": 2,
                "status": "Faulted",
                "standard": "IEC_62196_T2_COMBO",
                "power_type": "DC",
                "max_voltage": 500,
                "max_amperage": 100,
            },
        ],
    }
    raw.update(overrides)
    return PublicCharger.model_validate(raw)


def test_charger() -> None:
    c = to_charger(public_charger())
    assert c.provider is Provider.PLUGCHOICE
    assert c.id == "UTR02"
    assert c.evse_id is None
    assert c.name == "Neude"
    assert c.location == GeoPoint(52.0934, 5.1186)
    assert (c.city, c.street) == ("Utrecht", "Neude 11")
    assert c.remote_start_stop is True
    assert c.smart_charging is False
    assert c.status is ChargerStatus.AVAILABLE
    assert c.tariff is not None
    assert c.tariff.price_per_kwh == Money(39, "EUR")
    assert c.tariff.start_fee == Money(50, "EUR")
    first, second = c.connectors
    assert (first.id, first.standard, first.power_kw, first.status) == (
        "1",
        "TYPE2",
        11.0,
        ChargerStatus.AVAILABLE,
    )
    assert (second.id, second.standard, second.power_kw, second.status) == (
        "2",
        "CCS",
        50.0,
        ChargerStatus.OUT_OF_ORDER,
    )
    assert c.connector("2") is second


def test_offline_charger_and_its_connectors_are_offline() -> None:
    c = to_charger(public_charger(online=False))
    assert c.status is ChargerStatus.OFFLINE
    assert {x.status for x in c.connectors} == {ChargerStatus.OFFLINE}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["Charging", "Faulted"], ChargerStatus.OCCUPIED),
        (["Faulted", "Unavailable"], ChargerStatus.OUT_OF_ORDER),
        (["Reserved", "Faulted"], ChargerStatus.RESERVED),
        ([None], ChargerStatus.UNKNOWN),
        ([], ChargerStatus.UNKNOWN),
    ],
)
def test_charger_status_is_the_best_connector(
    statuses: list[str | None], expected: ChargerStatus
) -> None:
    connectors = [{"connector_id": i + 1, "status": s} for i, s in enumerate(statuses)]
    assert to_charger(public_charger(connectors=connectors)).status is expected


def test_charger_without_pricing_or_name() -> None:
    c = to_charger(public_charger(pricing=None, name=None, address=None))
    assert c.tariff is None
    assert c.name == "UTR02"
    assert c.city is None


def test_observed_at_drives_running_duration() -> None:
    later = NOW + timedelta(minutes=10)
    s = to_session(session(), token=TOKEN, observed_at=later)
    assert s.duration_seconds == 69 * 60


@pytest.mark.parametrize(("field", "value"), [
    ("energy_kwh", "1e308"), ("energy_kwh", "NaN"), ("energy_kwh", "-1"),
    ("cost_amount", 10**30), ("amount_authorized", -(10**12)), ("tax_amount", 2**31),
])
def test_values_the_domain_cannot_hold_fail_validation(field: str, value: Any) -> None:
    # Issue 12 item 7: the client turns this into ProviderUnavailable; nothing is written.
    with pytest.raises(ValueError, match=field):
        SessionEnvelope.model_validate_json(json.dumps({"data": seed_session(**{field: value})}))


def test_a_start_in_year_1_gives_no_duration_and_a_huge_tax_no_excl_vat() -> None:
    data = SessionData.model_validate(seed_session(
        charging_started_at="0001-01-01T00:00:00Z", status="captured",
        amount_captured=-(2**31 - 1), tax_amount=2**31 - 1))
    s = to_session(data, token=TOKEN, observed_at=NOW)
    assert s.duration_seconds is None and s.started_at is not None
    assert s.cost is not None and s.cost.excl_vat is None


def test_charger_evse_id_labels_and_missing_fees() -> None:
    c = to_charger(public_charger())
    assert [x.label for x in c.connectors] == ["1", "2"]  # as every provider labels them
    assert c.evse_id is None  # not registered: no id made up from the public code
    free = to_charger(public_charger(
        evse_id="NL*PLC*EUTR02", pricing={"currency": "EUR", "price_per_kwh": 39, "start_fee": 0}
    ))  # fmt: skip
    assert free.evse_id == "NL*PLC*EUTR02"
    assert free.tariff is not None and free.tariff.start_fee is None  # no fee: null, never 0
