"""Mappers on the seeds' JSON examples (copied verbatim from seeds 000 and 001)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bff.domain.model import (
    ChargerStatus,
    Energy,
    PaymentStatus,
    Provider,
    SessionStatus,
)
from bff.domain.money import Money
from bff.providers.plugsurfing.mappers import (
    chargers_from_locations,
    parse_iso_duration,
    session_from_model,
)
from bff.providers.plugsurfing.schemas import LocationsResponse, SessionModel

OBSERVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# Seed 000: GET /sessions/{sessionId} response example.
SEED_000_CREATED = """
{
  "balanceStatus": "PROCESSING",
  "sessionStatus": "CREATED",
  "charger": {
    "chargingStationName": "Drive_API_Test1_Station1",
    "city": "Solna",
    "connectorLabel": "1",
    "evseId": "SE*CND*EC1*1",
    "streetName": "Rättarvägen"
  },
  "balanceAmountMinor": "-2160",
  "chargingKeyType": "virtual",
  "connectorId": "O9UXK+YI5Q6i0FoI4qHwcA==",
  "duration": "PT28.913S",
  "energy": {
    "unit": "WH",
    "value": 57
  },
  "paymentMethod": "CREDIT_CARD",
  "price": {
    "currencyCode": "EUR",
    "minorExclVat": 2785,
    "minorInclVat": 1,
    "vat": "17.5"
  },
  "receiptAvailable": true,
  "sessionId": "AAdmD55q8Vz",
  "site": "Drive_API_Test1",
  "startTime": "2021-01-30T10:00:00.111111111Z",
  "transactions": [
    {
      "paymentMethod": "CREDIT_CARD",
      "paymentOutcome": "CHARGE",
      "amount": {
        "currencyCode": "EUR",
        "minorExclVat": 2785,
        "minorInclVat": 1,
        "vat": "17.5"
      },
      "time": "2021-01-30T10:00:00.111111111Z"
    }
  ]
}
"""

# Seed 001: "Example of session in STARTED state".
SEED_001_STARTED = """
{
"sessionStatus": "STARTED",
"charger": {
"chargingStationName": "ZzZ 220218114136937169",
"connectorLabel": "1",
"evseId": "NO*XXX*EZzZ220218114136937169*1"
},
"connectorId": "abcJd/vR5fvzBa0X/gxaXA==",
"duration": "PT21.379S",
"receiptAvailable": false,
"sessionId": "LWO89J3mDJr",
"site": "ZzZ 220218114135485264",
"startTime": "2022-06-07T06:49:59.811Z"
}
"""

# Seed 001: "Example of session in COMPLETED state".
SEED_001_COMPLETE = """
{
"sessionStatus": "COMPLETE",
"balanceStatus": "PAID",
"charger": {
"chargingStationName": "ZzZ 220218114136937169",
"connectorLabel": "1",
"evseId": "NO*XXX*EZzZ220218114136937169*1"
},
"connectorId": "abcJd/vR5fvzBa0X/gxaXA==",
"duration": "PT15M",
"energy": {
"unit": "WH",
"value": 1840
},
"price": {
"currencyCode": "NOK",
"minorExclVat": 0,
"minorInclVat": 0,
"vat": "25"
},
"receiptAvailable": false,
"sessionId": "LWO89J3mDJr",
"site": "ZzZ 220218114135485264",
"startTime": "2022-02-18T10:41:39.148Z"
}
"""

# Seed 001: the stage environment's successful session, STARTED (the connector id is
# spliced in only to keep lines short).
STAGE_CONNECTOR = (
    "+YePNZexUkx8U9fCUoBEmu8EVhBUn1TWdxjd5Ky1ly1Tm3r2MApUUkDIzO4IqizV3l4XTQ87QmotRFvUW1SCWA=="
)
SEED_001_STAGE_STARTED = """
{
"sessionStatus": "STARTED",
"charger": {
"chargingStationName": "Charge at the castle",
"city": "Stockholm",
"evseId": "SE*REM*E1000",
"streetName": "Kungliga slottet"
},
"connectorId": "STAGE_CONNECTOR",
"duration": "PT12.333S",
"receiptAvailable": false,
"sessionId": "NbmNQa80MwR",
"site": "Charge at the castle",
"startTime": "2023-02-24T13:14:14Z"
}
""".replace("STAGE_CONNECTOR", STAGE_CONNECTOR)


def _session(raw: str, **changes: object) -> SessionModel:
    data = json.loads(raw)
    data.update(changes)
    return SessionModel.model_validate(data)


def test_seed_000_created_session() -> None:
    s = session_from_model(_session(SEED_000_CREATED), OBSERVED)
    assert s.provider is Provider.PLUGSURFING
    assert (s.id, s.status, s.provider_status) == ("AAdmD55q8Vz", SessionStatus.STARTING, "CREATED")
    assert s.observed_at == OBSERVED
    assert s.charger_id == "SE*CND*EC1*1"
    assert s.connector_id == "O9UXK+YI5Q6i0FoI4qHwcA=="
    assert (s.charger_name, s.charger_city) == ("Drive_API_Test1_Station1", "Solna")
    # Nanoseconds in the seed: truncated to microseconds, still UTC.
    assert s.started_at == datetime(2021, 1, 30, 10, 0, 0, 111111, tzinfo=UTC)
    assert s.duration_seconds == 28
    assert s.ended_at is None  # not ended yet
    assert s.energy == Energy(57)
    assert s.cost is not None
    assert s.cost.total == Money(1, "EUR")
    assert s.cost.excl_vat == Money(2785, "EUR")
    assert s.cost.vat_percent == Decimal("17.5")
    assert s.cost.estimated is True  # not yet COMPLETE
    assert s.payment is not None
    assert s.payment.status is PaymentStatus.PROCESSING
    # "-2160 means there is an outstanding amount of 21.60 in the currency of the session"
    assert s.payment.outstanding == Money(2160, "EUR")
    assert s.payment.outstanding.major == Decimal("21.60")
    [tx] = s.payment.transactions
    assert (tx.method, tx.outcome, tx.amount) == ("CREDIT_CARD", "CHARGE", Money(1, "EUR"))
    assert tx.at == datetime(2021, 1, 30, 10, 0, 0, 111111, tzinfo=UTC)
    assert s.remote is True
    assert s.receipt_available is True
    assert s.stop_failed is False


def test_seed_001_started_session() -> None:
    s = session_from_model(_session(SEED_001_STARTED), OBSERVED)
    assert (s.status, s.provider_status) == (SessionStatus.CHARGING, "STARTED")
    assert s.charger_id == "NO*XXX*EZzZ220218114136937169*1"
    assert s.charger_city is None
    assert s.started_at == datetime(2022, 6, 7, 6, 49, 59, 811000, tzinfo=UTC)
    assert s.duration_seconds == 21
    assert s.energy is None and s.cost is None and s.ended_at is None
    assert s.payment is not None and s.payment.status is PaymentStatus.NONE
    assert s.payment.outstanding is None
    assert s.remote is True  # no key type before it starts: only remote starts lack one
    assert s.receipt_available is False


def test_seed_001_complete_session() -> None:
    s = session_from_model(_session(SEED_001_COMPLETE), OBSERVED)
    assert s.status is SessionStatus.COMPLETED
    assert s.duration_seconds == 15 * 60
    assert s.ended_at == datetime(2022, 2, 18, 10, 56, 39, 148000, tzinfo=UTC)
    assert s.energy == Energy(1840)
    assert s.cost is not None
    assert s.cost.total == Money(0, "NOK") and s.cost.estimated is False
    assert s.cost.vat_percent == Decimal(25)
    assert s.payment is not None and s.payment.status is PaymentStatus.PAID
    assert s.payment.outstanding is None


def test_seed_001_stage_started_session() -> None:
    s = session_from_model(_session(SEED_001_STAGE_STARTED), OBSERVED)
    assert s.status is SessionStatus.CHARGING
    assert (s.charger_id, s.charger_city) == ("SE*REM*E1000", "Stockholm")
    assert s.connector_id == STAGE_CONNECTOR and len(STAGE_CONNECTOR) == 88
    assert s.started_at == datetime(2023, 2, 24, 13, 14, 14, tzinfo=UTC)


def test_stop_failed_is_charging_with_flag() -> None:
    s = session_from_model(_session(SEED_001_STARTED, sessionStatus="STOP_FAILED"), OBSERVED)
    assert (s.status, s.stop_failed, s.provider_status) == (
        SessionStatus.CHARGING,
        True,
        "STOP_FAILED",
    )


def test_unknown_status_word_is_failed_but_visible() -> None:
    s = session_from_model(_session(SEED_001_STARTED, sessionStatus="HIBERNATING"), OBSERVED)
    assert (s.status, s.provider_status) == (SessionStatus.FAILED, "HIBERNATING")


def test_stopped_session_has_end_time() -> None:
    s = session_from_model(
        _session(SEED_001_STARTED, sessionStatus="STOPPED", duration="PT1H2M3.5S"), OBSERVED
    )
    assert s.status is SessionStatus.STOPPED
    assert s.duration_seconds == 3723
    assert s.ended_at == datetime(2022, 6, 7, 7, 52, 3, 311000, tzinfo=UTC)
    assert s.cost is None


def test_local_session_is_not_remote() -> None:
    s = session_from_model(_session(SEED_000_CREATED, chargingKeyType="card"), OBSERVED)
    assert s.remote is False


def test_debt_outstanding_and_refund() -> None:
    debt = session_from_model(
        _session(SEED_000_CREATED, sessionStatus="COMPLETE", balanceStatus="DEBT"), OBSERVED
    )
    assert debt.payment is not None and debt.payment.status is PaymentStatus.DEBT
    assert debt.payment.outstanding == Money(2160, "EUR")
    assert debt.cost is not None and debt.cost.estimated is False
    refunded = session_from_model(
        _session(SEED_000_CREATED, sessionStatus="REFUNDED", balanceStatus="REFUND",
                 balanceAmountMinor="0"),
        OBSERVED,
    )  # fmt: skip
    assert refunded.status is SessionStatus.REFUNDED
    assert refunded.payment is not None and refunded.payment.status is PaymentStatus.REFUNDED
    assert refunded.payment.outstanding is None


def test_energy_in_kwh_and_money_exponents() -> None:
    s = session_from_model(
        _session(
            SEED_000_CREATED,
            energy={"unit": "KWH", "value": 12.3456},
            price={"currencyCode": "JPY", "minorInclVat": 1234, "vat": "10"},
            transactions=[],
            balanceAmountMinor=-1234,
        ),
        OBSERVED,
    )
    assert s.energy == Energy(12346)
    assert s.cost is not None and s.cost.total == Money(1234, "JPY")
    assert s.cost.total.major == Decimal(1234)  # JPY has no minor unit
    assert s.cost.excl_vat is None
    assert s.payment is not None and s.payment.outstanding == Money(1234, "JPY")


def test_tolerates_extra_fields_and_odd_values() -> None:
    s = session_from_model(
        _session(
            SEED_000_CREATED,
            somethingNew={"nested": True},
            price={"currencyCode": "XXZ", "minorInclVat": 5, "vat": "n/a"},
            duration="soon",
            energy={"unit": "MWH", "value": 1},
        ),
        OBSERVED,
    )
    assert s.cost is None and s.duration_seconds is None and s.energy is None
    # The transaction's currency is still good: outstanding uses it.
    assert s.payment is not None and s.payment.outstanding == Money(2160, "EUR")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT28.913S", timedelta(seconds=28.913)),
        ("PT15M", timedelta(minutes=15)),
        ("PT1H2M3S", timedelta(hours=1, minutes=2, seconds=3)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0S", timedelta(0)),
        ("PT0,5S", timedelta(seconds=0.5)),
        ("P", None),
        ("PT", None),
        ("P1DT", None),
        ("15 minutes", None),
        ("", None),
        (None, None),
        # Beyond what the domain holds (68 years), or beyond timedelta itself.
        ("P30000D", None),
        ("P9999999999D", None),
        ("PT99999999999999999999S", None),
    ],
)
def test_parse_iso_duration(text: str | None, expected: timedelta | None) -> None:
    assert parse_iso_duration(text) == expected


LOCATIONS_JSON = {
    "locations": [
        {
            "id": "LOC-1",
            "name": "Bemowo Park & Charge",
            "coordinates": {"latitude": 52.290556, "longitude": 20.907828},
            "address": {"street": "ul. Powstańców Śląskich 126", "city": "Warszawa"},
            "status": "AVAILABLE",
            "distance": 80,
            "evses": [
                {
                    "evseId": "PL*PLS*E1001A",
                    "chargingStationName": "Bemowo DC 1",
                    "status": "CHARGING",
                    "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER"],
                    "connectors": [
                        {"id": "abc==", "label": "1", "standard": "IEC_62196_T2_COMBO",
                         "powerType": "DC", "maxPowerKw": 50.0, "status": "CHARGING"},
                        {"id": "def==", "standard": "CHADEMO", "maxPowerKw": 50},
                    ],
                    "tariff": {"currencyCode": "PLN", "pricePerKwhMinorInclVat": 249,
                               "startFeeMinorInclVat": 0, "vat": "23"},
                },
                {"evseId": "PL*PLS*E2002A", "status": "BLOCKED", "capabilities": ["RFID_READER"],
                 "connectors": [{"id": "ghi==", "standard": "IEC_62196_T2", "maxPowerKw": 22}]},
            ],
        }
    ]
}  # fmt: skip


def test_chargers_from_locations() -> None:
    dc, ac = chargers_from_locations(LocationsResponse.model_validate(LOCATIONS_JSON))
    assert (dc.id, dc.evse_id, dc.provider) == (
        "PL*PLS*E1001A",
        "PL*PLS*E1001A",
        Provider.PLUGSURFING,
    )
    assert (dc.name, dc.site, dc.city) == ("Bemowo DC 1", "Bemowo Park & Charge", "Warszawa")
    assert dc.street == "ul. Powstańców Śląskich 126"
    assert (dc.location.latitude, dc.location.longitude) == (52.290556, 20.907828)
    assert dc.status is ChargerStatus.OCCUPIED
    assert dc.remote_start_stop is True and dc.smart_charging is False
    ccs, chademo = dc.connectors
    assert (ccs.id, ccs.label, ccs.standard, ccs.power_kw) == ("abc==", "1", "CCS", 50.0)
    assert ccs.status is ChargerStatus.OCCUPIED
    assert (chademo.label, chademo.standard) == ("2", "CHADEMO")
    assert chademo.status is ChargerStatus.OCCUPIED  # inherits the EVSE's status
    assert dc.tariff is not None
    assert dc.tariff.price_per_kwh == Money(249, "PLN")
    # No start fee (0) and none per minute (absent) read the same: null.
    assert dc.tariff.start_fee is None and dc.tariff.per_minute is None
    assert ac.name == "Bemowo Park & Charge"  # no station name: the site's
    assert ac.status is ChargerStatus.OUT_OF_ORDER
    assert ac.remote_start_stop is False and ac.tariff is None
    assert ac.connectors[0].standard == "TYPE2"


@pytest.mark.parametrize("balance", ["-2160", "-2160.0", -2160, -2160.0])
def test_balance_minor_spellings(balance: object) -> None:
    s = session_from_model(_session(SEED_000_CREATED, balanceAmountMinor=balance), OBSERVED)
    assert s.payment is not None and s.payment.outstanding == Money(2160, "EUR")


def test_fractional_minor_amount_is_rejected() -> None:
    with pytest.raises(ValueError):
        _session(SEED_000_CREATED, balanceAmountMinor="-21.60")


def test_absurd_vat_and_a_start_near_year_9999_give_no_value_rather_than_fail() -> None:
    s = session_from_model(SessionModel.model_validate({
        "sessionId": "S9", "sessionStatus": "COMPLETE", "startTime": "9999-12-31T00:00:00Z",
        "duration": "P2D", "price": {"currencyCode": "EUR", "minorInclVat": 500, "vat": "NaN"},
    }), OBSERVED)
    assert s.ended_at is None and s.duration_seconds == 2 * 86400
    assert s.cost is not None and s.cost.vat_percent is None
    for vat in ("1e999", "-5", "101", "lots"):
        price = {"currencyCode": "EUR", "minorInclVat": 500, "vat": vat}
        m = SessionModel.model_validate({"sessionId": "S", "sessionStatus": "X", "price": price})
        cost = session_from_model(m, OBSERVED).cost
        assert cost is not None and cost.vat_percent is None, vat
