"""ChargingSession <-> JSON round trips."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bff.domain.model import (
    ChargingPeriod,
    ChargingProfile,
    ChargingSession,
    Cost,
    Energy,
    Payment,
    PaymentStatus,
    Provider,
    SessionStatus,
    Transaction,
)
from bff.domain.money import Money
from bff.live.codec import (
    Snapshot,
    decode_session,
    decode_snapshot,
    encode_session,
    encode_snapshot,
    message_key,
    with_record,
)
from bff.store import keys
from bff.store.records import SessionRecord
from tests.live.support import at, session


def full_session() -> ChargingSession:
    return ChargingSession(
        provider=Provider.ROAMING,
        id="770e8400",
        status=SessionStatus.COMPLETED,
        provider_status="completed",
        observed_at=at(1800.123456),
        charger_id="FI-VRT-E12345",
        connector_id="CCS",
        charger_name="Virta",
        charger_city="Helsinki",
        started_at=at(0),
        ended_at=at(1800),
        duration_seconds=1800,
        energy=Energy(20_000),
        power_kw=11.5,
        cost=Cost(Money(720, "EUR"), Money(574, "EUR"), Decimal("25.5"), estimated=False),
        payment=Payment(
            status=PaymentStatus.PAID,
            outstanding=Money(0, "EUR"),
            authorized=Money(5000, "JPY"),
            captured=Money(1234, "KWD"),
            transactions=(Transaction("card", "captured", Money(720, "EUR"), at(1801)),),
            client_secret="pi_secret",
            publishable_key="pk_test",
        ),
        receipt_available=True,
        failure_reason=None,
        remote=False,
        stop_failed=True,
        charging_profile=ChargingProfile(
            11.0, at(7200), (ChargingPeriod(0, 11000), ChargingPeriod(3600, 7400))
        ),
        created_at=at(-5),
        extra={"token": "t"},
    )


@pytest.mark.parametrize("s", [full_session(), session(SessionStatus.STARTING, 0)])
def test_session_round_trip(s: ChargingSession) -> None:
    assert decode_session(encode_session(s)) == s


def test_wire_shape() -> None:
    data = json.loads(encode_session(full_session()))
    assert data["cost"]["total"] == {"amount_minor": 720, "currency": "EUR"}
    assert data["energy_wh"] == 20_000
    assert data["observed_at"] == "2026-03-30T08:30:00.123456Z"
    assert data["cost"]["vat_percent"] == "25.5"


def test_times_come_back_in_utc() -> None:
    helsinki = timezone(timedelta(hours=3))
    s = session(SessionStatus.CHARGING, 0)
    local = replace(s, observed_at=s.observed_at.astimezone(helsinki))
    back = decode_session(encode_session(local))
    assert back.observed_at == s.observed_at
    assert back.observed_at.utcoffset() == timedelta(0)
    naive = replace(s, observed_at=datetime(2026, 1, 1, 12))
    assert decode_session(encode_session(naive)).observed_at == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_snapshot_round_trip_and_message_key() -> None:
    snap = Snapshot(full_session(), 7, "driver-1", 1_700_000_000.5)
    raw = encode_snapshot(snap)
    assert decode_snapshot(raw) == snap
    session = keys.session_key(Provider.ROAMING, "770e8400")
    assert message_key(keys.driver_channel("driver-1"), raw) == session
    assert message_key(keys.session_channel(session), raw) == keys.session_channel(session)
    assert message_key("ch:x", "not json") == "ch:x"


def test_a_published_message_carries_the_record_a_stored_snapshot_does_not() -> None:
    snap = Snapshot(full_session(), 7, "driver-1", 1_700_000_000.5)
    stored = encode_snapshot(snap)
    assert not decode_snapshot(stored).carries_record
    record = SessionRecord(
        provider=Provider.ROAMING, session_id="770e8400", driver_id="driver-1",
        charger_id="FI-VRT-E12345", abandoned_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    message = decode_snapshot(with_record(stored, record.model_dump_json().encode()))
    assert message.carries_record and message.record == record
    assert message.session == snap.session and message.version == 7
    none = decode_snapshot(with_record(stored, None))
    assert none.carries_record and none.record is None
