"""The adapter against the real roaming sandbox (mounted at /roaming, over ASGITransport)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from bff.domain.model import (
    Charger,
    ChargingPeriod,
    ChargingProfile,
    ChargingSession,
    GeoPoint,
    SessionRef,
    SessionStatus,
)
from bff.domain.money import Money
from bff.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from bff.providers.base import ProviderAdapter, StartRequest
from bff.providers.roaming.constants import SESSION_ENDED
from tests.providers.roaming.roaming_support import SPEED, Rig, eventually

HELSINKI = GeoPoint(60.1699, 24.9384)
DRIVER = "driver-1"


async def charger(rig: Rig, evse_id: str) -> Charger:
    return (await rig.adapter.get_chargers([evse_id]))[evse_id]


async def start(
    rig: Rig, evse_id: str = "FI-VRT-E12345", target_kwh: float | None = None, driver: str = DRIVER
) -> ChargingSession:
    c = await charger(rig, evse_id)
    session, extra = await rig.adapter.start_session(
        StartRequest(driver, c, c.connectors[0].id, battery_target_kwh=target_kwh)
    )
    assert extra == {}
    return session


async def status_of(rig: Rig, session: ChargingSession, driver: str = DRIVER) -> ChargingSession:
    s = await rig.adapter.get_session(SessionRef(driver, session.id))
    assert s is not None
    return s


async def raw(rig: Rig, session_id: str) -> dict[str, Any]:
    r = await rig.control.get(f"/_control/sessions/{session_id}")
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def test_implements_the_protocol(rig: Rig) -> None:
    assert isinstance(rig.adapter, ProviderAdapter)
    assert rig.adapter.has_history is False


async def test_search_around_helsinki(rig: Rig) -> None:
    chargers = await rig.adapter.search_chargers(HELSINKI, 1000, 20)
    by_id = {c.id: c for c in chargers}
    assert "FI-VRT-E12345" in by_id
    assert "FI-VRT-E40001" not in by_id  # Tapiola, Espoo: ~7 km away
    assert len(by_id) >= 5
    smart = {c.id for c in chargers if c.smart_charging}
    assert "FI-VRT-E12345" in smart and len(smart) >= 2
    assert any(not c.smart_charging for c in chargers)
    e12345 = by_id["FI-VRT-E12345"]
    assert e12345.evse_id == "FI-VRT-E12345"
    assert {k.standard for k in e12345.connectors} == {"CCS", "CHADEMO"}
    assert e12345.tariff is not None and e12345.tariff.price_per_kwh == Money(35, "EUR")


async def test_search_radius_and_limit(rig: Rig) -> None:
    wide = await rig.adapter.search_chargers(HELSINKI, 10_000, 50)
    assert "FI-VRT-E40001" in {c.id for c in wide}
    two = await rig.adapter.search_chargers(HELSINKI, 10_000, 2)
    assert len(two) == 2


async def test_batch_lookup_is_one_request(rig: Rig) -> None:
    await rig.control.post("/_control/stats/reset")
    ids = ["FI-VRT-E12345", "FI-VRT-E20001", "FI-VRT-E20002", "FI-VRT-NOPE"]
    found = await rig.adapter.get_chargers(ids)
    assert set(found) == {"FI-VRT-E12345", "FI-VRT-E20001", "FI-VRT-E20002"}
    stats = (await rig.control.get("/_control/stats")).json()
    assert stats == {"GET /v1/evses": 1, "total": 1}


async def test_full_lifecycle_to_completed(rig: Rig) -> None:
    session = await start(rig)
    assert session.status is SessionStatus.STARTING
    assert session.provider_status == "pending"
    assert session.charger_id == "FI-VRT-E12345"
    assert session.connector_id == "FI-VRT-E12345*1"
    ref = SessionRef(DRIVER, session.id)
    early = await rig.adapter.get_receipt(ref)
    assert early.available is False

    first = await eventually(
        lambda: status_of(rig, session),
        lambda s: (
            s.status is SessionStatus.CHARGING and s.energy is not None and s.energy.watt_hours > 0
        ),
    )
    assert first.started_at is not None
    assert first.cost is not None and first.cost.estimated
    later = await eventually(
        lambda: status_of(rig, session),
        lambda s: (
            s.energy is not None
            and first.energy is not None
            and s.energy.watt_hours > first.energy.watt_hours
        ),
    )
    assert later.observed_at > first.observed_at
    assert (await charger(rig, "FI-VRT-E12345")).status.value == "OCCUPIED"

    stopping = await rig.adapter.stop_session(ref)
    assert stopping.status is SessionStatus.STOPPING
    done = await eventually(
        lambda: status_of(rig, session), lambda s: s.status is SessionStatus.COMPLETED
    )
    assert done.energy is not None and done.energy.watt_hours >= later.energy.watt_hours  # type: ignore[union-attr]
    assert done.cost is not None and done.cost.estimated is False
    assert done.receipt_available is True
    receipt = await rig.adapter.get_receipt(ref)
    assert receipt.available is True
    assert receipt.cost == done.cost
    # cost = 0.35 EUR/kWh x energy, rounded to cents
    kwh = done.energy.watt_hours / 1000
    assert receipt.cost is not None
    assert abs(receipt.cost.total.amount_minor - round(35 * kwh)) <= 1
    assert (await charger(rig, "FI-VRT-E12345")).status.value == "AVAILABLE"
    with pytest.raises(ProviderRejected) as info:
        await rig.adapter.stop_session(ref)
    assert info.value.reason == SESSION_ENDED


async def test_completes_by_itself_at_the_battery_target(rig: Rig) -> None:
    session = await start(rig, "FI-VRT-E20002", target_kwh=0.5)
    done = await eventually(
        lambda: status_of(rig, session), lambda s: s.status is SessionStatus.COMPLETED
    )
    assert done.energy is not None and done.energy.watt_hours == 500
    assert done.cost is not None and done.cost.total == Money(23, "EUR")  # 0.45 x 0.5 = 0.225
    words = [h["status"] for h in (await raw(rig, session.id))["history"]]
    assert words == ["pending", "active", "completed"]


async def test_evse_that_cannot_start_fails(rig: Rig) -> None:
    session = await start(rig, "FI-VRT-E99999")
    failed = await eventually(
        lambda: status_of(rig, session), lambda s: s.provider_status != "pending"
    )
    assert failed.status is SessionStatus.FAILED
    assert failed.provider_status == "failed"
    assert (await rig.adapter.get_receipt(SessionRef(DRIVER, session.id))).available is False


async def test_start_refusals(rig: Rig) -> None:
    with pytest.raises(ProviderRejected) as info:
        await start(rig, "FI-VRT-E30001")
    assert info.value.reason == ProviderRejected.CHARGER_OFFLINE
    await start(rig, "FI-VRT-E20001")
    with pytest.raises(ProviderRejected) as info:
        await start(rig, "FI-VRT-E20001", driver="driver-2")
    assert info.value.reason == ProviderRejected.CONNECTOR_UNAVAILABLE


async def test_start_unknown_evse_is_not_found(rig: Rig) -> None:
    c = await charger(rig, "FI-VRT-E12345")
    ghost = replace(c, id="FI-VRT-E00000", evse_id="FI-VRT-E00000")
    with pytest.raises(ProviderNotFound):
        await rig.adapter.start_session(StartRequest(DRIVER, ghost, c.connectors[0].id))


async def test_start_with_unknown_connector_asks_nobody(rig: Rig) -> None:
    c = await charger(rig, "FI-VRT-E12345")
    await rig.control.post("/_control/stats/reset")
    with pytest.raises(ProviderRejected) as info:
        await rig.adapter.start_session(StartRequest(DRIVER, c, "FI-VRT-E12345*9"))
    assert info.value.reason == ProviderRejected.UNKNOWN_CONNECTOR
    assert (await rig.control.get("/_control/stats")).json() == {}


async def test_start_with_second_connector_sends_its_standard(rig: Rig) -> None:
    c = await charger(rig, "FI-VRT-E12345")
    session, _ = await rig.adapter.start_session(StartRequest(DRIVER, c, "FI-VRT-E12345*2"))
    assert (await raw(rig, session.id))["connector_type"] == "CHADEMO"


async def test_set_and_clear_profile_on_a_smart_evse(rig: Rig) -> None:
    session = await start(rig)
    ref = SessionRef(DRIVER, session.id)
    await eventually(lambda: status_of(rig, session), lambda s: s.status is SessionStatus.CHARGING)

    applied = await rig.adapter.set_charging_profile(ref, ChargingProfile(max_charge_rate_kw=7.4))
    assert applied.max_charge_rate_kw == 7.4
    assert applied.periods == (ChargingPeriod(0, 7400),)
    state = await raw(rig, session.id)
    assert state["power_kw"] == pytest.approx(7.4)

    schedule = ChargingProfile(periods=(ChargingPeriod(0, 11_000), ChargingPeriod(3600, 3_700)))
    applied = await rig.adapter.set_charging_profile(ref, schedule)
    assert applied.periods == schedule.periods
    assert (await raw(rig, session.id))["power_kw"] == pytest.approx(11.0)

    await rig.adapter.clear_charging_profile(ref)
    state = await raw(rig, session.id)
    assert state["profile"] is None
    assert state["power_kw"] == pytest.approx(50.0)


async def test_profile_caps_the_energy_rate(rig: Rig) -> None:
    session = await start(rig, "FI-VRT-E20002")  # 150 kW
    ref = SessionRef(DRIVER, session.id)
    await rig.adapter.set_charging_profile(ref, ChargingProfile(max_charge_rate_kw=2.0))
    a = await eventually(lambda: raw(rig, session.id), lambda r: r["status"] == "active")
    b = await eventually(
        lambda: raw(rig, session.id), lambda r: r["energy_wh"] > a["energy_wh"] + 5
    )
    sim_hours = (
        (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
        * SPEED
        / 3600
    )
    assert b["power_kw"] == pytest.approx(2.0)
    assert (b["energy_wh"] - a["energy_wh"]) / sim_hours == pytest.approx(2000, rel=0.05)


async def test_profile_not_supported_on_a_plain_evse(rig: Rig) -> None:
    session = await start(rig, "FI-VRT-E20001")
    ref = SessionRef(DRIVER, session.id)
    with pytest.raises(ProviderRejected) as info:
        await rig.adapter.set_charging_profile(ref, ChargingProfile(max_charge_rate_kw=7.4))
    assert info.value.reason == ProviderRejected.NOT_SUPPORTED
    with pytest.raises(ProviderRejected) as info:
        await rig.adapter.clear_charging_profile(ref)
    assert info.value.reason == ProviderRejected.NOT_SUPPORTED


async def test_profile_refused_once_final(rig: Rig) -> None:
    session = await start(rig, "FI-VRT-E99999")
    await eventually(lambda: status_of(rig, session), lambda s: s.status is SessionStatus.FAILED)
    with pytest.raises(ProviderRejected) as info:
        await rig.adapter.set_charging_profile(
            SessionRef(DRIVER, session.id), ChargingProfile(max_charge_rate_kw=7.4)
        )
    assert info.value.reason == SESSION_ENDED


async def test_another_drivers_session_is_not_visible(rig: Rig) -> None:
    session = await start(rig)
    theirs = SessionRef("driver-2", session.id)
    assert await rig.adapter.get_session(theirs) is None
    with pytest.raises(ProviderNotFound):
        await rig.adapter.stop_session(theirs)
    with pytest.raises(ProviderNotFound):
        await rig.adapter.get_receipt(theirs)
    with pytest.raises(ProviderNotFound):
        await rig.adapter.set_charging_profile(theirs, ChargingProfile(max_charge_rate_kw=7.4))
    assert (await raw(rig, session.id))["status"] in ("pending", "active")


async def test_unknown_session_is_none(rig: Rig) -> None:
    assert await rig.adapter.get_session(SessionRef(DRIVER, "no-such-session")) is None


async def test_payments_are_not_supported(rig: Rig) -> None:
    ref = SessionRef(DRIVER, "any")
    for call in (rig.adapter.retry_payment, rig.adapter.confirm_payment):
        with pytest.raises(ProviderRejected) as info:
            await call(ref)
        assert info.value.reason == ProviderRejected.NOT_SUPPORTED


async def test_outage_is_unavailable_after_retries(rig: Rig) -> None:
    await rig.control.post("/_control/faults", json={"down": True})
    with pytest.raises(ProviderUnavailable):
        await rig.adapter.get_session(SessionRef(DRIVER, "s"))
    stats = (await rig.control.get("/_control/stats")).json()
    assert stats["total"] == 1 + rig.settings.upstream_retries
