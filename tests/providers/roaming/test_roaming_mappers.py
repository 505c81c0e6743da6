"""Platform JSON -> domain: money from decimal major units, Wh, seconds, chargers, profiles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bff.domain.model import (
    ChargerStatus,
    ChargingPeriod,
    ChargingProfile,
    PaymentStatus,
    Provider,
    SessionStatus,
)
from bff.domain.money import Money
from bff.providers.roaming import mappers
from bff.providers.roaming.schemas import (
    ChargingProfileResponse,
    EvseWire,
    ReceiptResponse,
    SessionStatusObject,
    WebhookBody,
)
from bff.sandbox.roaming.data import EVSES_BY_ID

ASKED = datetime(2026, 3, 30, 8, 20, tzinfo=UTC)


def status(**fields: object) -> SessionStatusObject:
    body = {
        "session_id": "770e8400-e29b-41d4-a716-446655440002",
        "status": "active",
        "energy_kwh": 15.2,
        "cost": 5.32,
        "currency": "EUR",
        "duration_minutes": 18,
        "start_time": "2026-03-30T08:00:00Z",
        **fields,
    }
    # From the JSON text, as the client parses it: numbers never pass through a float.
    return SessionStatusObject.model_validate_json(json.dumps(body))


def raw_status(cost_text: str, currency: str) -> SessionStatusObject:
    text = (
        '{"session_id": "s", "status": "active", "energy_kwh": 1, '
        f'"cost": {cost_text}, "currency": "{currency}"}}'
    )
    return SessionStatusObject.model_validate_json(text)


def test_status_object_to_session() -> None:
    s = mappers.session_from_status(status(), ASKED)
    assert s.provider is Provider.ROAMING
    assert s.id == "770e8400-e29b-41d4-a716-446655440002"
    assert s.status is SessionStatus.CHARGING
    assert s.provider_status == "active"
    assert s.energy is not None and s.energy.watt_hours == 15_200
    assert s.cost is not None
    assert s.cost.total == Money(532, "EUR")
    assert s.cost.estimated is True
    assert s.duration_seconds == 18 * 60
    assert s.started_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert s.observed_at == ASKED
    assert s.receipt_available is False


def test_completed_cost_is_final_and_receipt_available() -> None:
    s = mappers.session_from_status(status(status="completed", cost=7.2), ASKED)
    assert s.status is SessionStatus.COMPLETED
    assert s.cost is not None and s.cost.total == Money(720, "EUR")
    assert s.cost.estimated is False
    assert s.receipt_available is True


@pytest.mark.parametrize(
    ("cost_text", "currency", "minor"),
    [
        ("5.32", "EUR", 532),
        # 1.005 as a float is 1.00499999...; from the decimal text it rounds half up.
        ("1.005", "EUR", 101),
        ("0.1", "EUR", 10),
        ("1234", "JPY", 1234),
        ("1234.5", "JPY", 1235),
        ("1.234", "KWD", 1234),
        ("1.2345", "KWD", 1235),
        ("0.125", "KWD", 125),
    ],
)
def test_cost_in_minor_units_of_its_currency(cost_text: str, currency: str, minor: int) -> None:
    s = mappers.session_from_status(raw_status(cost_text, currency), ASKED)
    assert s.cost is not None
    assert s.cost.total == Money(minor, currency)


def test_cost_is_parsed_as_decimal() -> None:
    assert raw_status("5.32", "EUR").cost == Decimal("5.32")


def test_missing_cost_is_no_cost() -> None:
    s = mappers.session_from_status(status(cost=None, currency=None), ASKED)
    assert s.cost is None


def test_nanosecond_timestamps_are_tolerated() -> None:
    s = mappers.session_from_status(status(start_time="2021-01-30T10:00:00.111111111Z"), ASKED)
    assert s.started_at == datetime(2021, 1, 30, 10, 0, 0, 111111, tzinfo=UTC)


def test_unknown_word_is_failed_but_visible() -> None:
    s = mappers.session_from_status(status(status="hibernating"), ASKED)
    assert s.status is SessionStatus.FAILED
    assert s.provider_status == "hibernating"


def test_webhook_data_keeps_its_updated_at() -> None:
    body = WebhookBody.model_validate_json(
        json.dumps(
            {
                "type": "session.updated",
                "data": {
                    "session_id": "x",
                    "status": "stopping",
                    "updated_at": "2026-03-30T08:30:00.5+02:00",
                },
            }
        )
    )
    assert body.data.updated_at == datetime(2026, 3, 30, 6, 30, 0, 500000, tzinfo=UTC)


def evse(evse_id: str, status: str = "AVAILABLE") -> EvseWire:
    return EvseWire.model_validate_json(json.dumps(EVSES_BY_ID[evse_id].to_json(status)))


def test_smart_evse_to_charger() -> None:
    c = mappers.charger_from_evse(evse("FI-VRT-E12345"))
    assert (c.id, c.evse_id, c.provider) == ("FI-VRT-E12345", "FI-VRT-E12345", Provider.ROAMING)
    assert c.status is ChargerStatus.AVAILABLE
    assert c.remote_start_stop is True
    assert c.smart_charging is True
    assert [(k.standard, k.power_kw) for k in c.connectors] == [("CCS", 50.0), ("CHADEMO", 50.0)]
    assert c.connectors[0].id == "FI-VRT-E12345*1"
    assert c.connector("FI-VRT-E12345*2") is c.connectors[1]
    assert c.tariff is not None and c.tariff.price_per_kwh == Money(35, "EUR")
    assert c.location.latitude == pytest.approx(60.1693)
    assert (c.city, c.street) == ("Helsinki", "Urho Kekkosen katu 1")


def test_plain_evse_to_charger() -> None:
    c = mappers.charger_from_evse(evse("FI-VRT-E20001", "CHARGING"))
    assert c.smart_charging is False
    assert c.status is ChargerStatus.OCCUPIED
    assert [(k.standard, k.power_kw, k.status) for k in c.connectors] == [
        ("TYPE2", 11.0, ChargerStatus.OCCUPIED)
    ]


def test_connector_power_without_max_electric_power() -> None:
    data = EVSES_BY_ID["FI-VRT-E12346"].to_json("AVAILABLE")
    for c in data["connectors"]:  # type: ignore[attr-defined]
        c["max_electric_power"] = None
    c = mappers.charger_from_evse(EvseWire.model_validate_json(json.dumps(data)))
    assert c.connectors[0].power_kw == pytest.approx(3 * 230 * 32 / 1000)


def test_receipt() -> None:
    r = ReceiptResponse.model_validate_json(
        '{"session_id": "s", "network": "Virta", "evse_id": "FI-VRT-E12345", "energy_kwh": 20.0,'
        ' "duration_minutes": 30, "cost": 7.20, "currency": "EUR", "payment_status": "paid"}'
    )
    receipt = mappers.receipt_from_wire(r)
    assert receipt.available is True
    assert receipt.cost is not None
    assert receipt.cost.total == Money(720, "EUR")
    assert receipt.cost.estimated is False
    assert (receipt.network, receipt.evse_id) == ("Virta", "FI-VRT-E12345")
    assert receipt.energy is not None and receipt.energy.watt_hours == 20_000
    assert receipt.duration_seconds == 30 * 60
    assert receipt.payment_status is PaymentStatus.PAID
    assert receipt.url is None  # no document: the BFF serves its own


def test_receipt_payment_words() -> None:
    def word(w: str | None) -> PaymentStatus | None:
        body = {"session_id": "s", "energy_kwh": 1, "cost": 1, "currency": "EUR"}
        r = ReceiptResponse.model_validate_json(json.dumps({**body, "payment_status": w}))
        return mappers.receipt_from_wire(r).payment_status

    assert word("paid") is PaymentStatus.PAID
    assert word("Refunded") is PaymentStatus.REFUNDED
    assert word("settled-later") is PaymentStatus.PROCESSING  # unknown: not known settled
    assert word(None) is None


def test_profile_to_wire_keeps_kw_and_watts() -> None:
    departure = datetime(2026, 3, 30, 18, tzinfo=UTC)
    profile = ChargingProfile(
        max_charge_rate_kw=11.0,
        departure_time=departure,
        periods=(ChargingPeriod(0, 11_000), ChargingPeriod(3600, 7_400)),
    )
    wire = mappers.profile_to_wire(profile).model_dump(mode="json", exclude_none=True)
    assert wire == {
        "max_charge_rate_kw": 11.0,
        "departure_time": "2026-03-30T18:00:00Z",
        "periods": [{"start_period": 0, "limit": 11000}, {"start_period": 3600, "limit": 7400}],
    }


def test_simple_cap_sends_no_periods() -> None:
    wire = mappers.profile_to_wire(ChargingProfile(max_charge_rate_kw=7.4))
    assert wire.model_dump(mode="json", exclude_none=True) == {"max_charge_rate_kw": 7.4}


def test_profile_from_wire() -> None:
    resp = ChargingProfileResponse.model_validate_json(
        '{"session_id": "s", "profile_set": true, "max_charge_rate_kw": 11.0,'
        ' "departure_time": "2026-03-30T18:00:00Z",'
        ' "periods": [{"start_period": 0, "limit": 11000}]}'
    )
    assert mappers.profile_from_wire(resp) == ChargingProfile(
        max_charge_rate_kw=11.0,
        departure_time=datetime(2026, 3, 30, 18, tzinfo=UTC),
        periods=(ChargingPeriod(0, 11_000),),
    )


def test_completed_session_ends_when_seen_completed_and_lasts_seconds() -> None:
    # 37 s of charging: whole minutes say 0; the timestamps say 37.
    seen = datetime(2026, 3, 30, 8, 0, 37, tzinfo=UTC)
    s = mappers.session_from_status(status(status="completed", duration_minutes=0), seen)
    assert s.ended_at == seen
    assert s.duration_seconds == 37


def test_completed_session_read_long_after_ends_within_its_minutes() -> None:
    # Read a day later (no snapshot): the end is bounded by start + whole minutes + 1.
    later = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    s = mappers.session_from_status(status(status="completed", duration_minutes=18), later)
    assert s.ended_at == datetime(2026, 3, 30, 8, 19, tzinfo=UTC)
    assert s.duration_seconds == 19 * 60


def test_live_session_has_no_end() -> None:
    for word in ("pending", "active", "stopping", "failed"):
        assert mappers.session_from_status(status(status=word), ASKED).ended_at is None
