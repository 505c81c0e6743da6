"""The adapter against the running sandbox (``httpx.ASGITransport``): the stage
environment of seed 001, end to end."""

from __future__ import annotations

import httpx
import pytest

from bff.domain.model import (
    Charger,
    ChargerStatus,
    ChargingProfile,
    ChargingSession,
    GeoPoint,
    PaymentStatus,
    Provider,
    SessionFilter,
    SessionRef,
    SessionStatus,
)
from bff.domain.money import Money
from bff.errors import ProviderNotFound, ProviderRejected
from bff.providers.base import ProviderAdapter, StartRequest
from bff.providers.plugsurfing.adapter import PlugsurfingAdapter
from bff.providers.plugsurfing.constants import TOKEN_PATH
from bff.sandbox.plugsurfing import PlugsurfingSandbox
from tests.providers.plugsurfing.plugsurfing_support import eventually, until

OK_POINT = GeoPoint(52.290056, 20.907028)
ERROR_POINT = GeoPoint(52.334242, 20.899305)
NEAR_OK = {"PL*PLS*E1001A", "PL*PLS*E1002A", "PL*PLS*E2001A", "PL*PLS*E2002A",
           "PL*PLS*E3001A", "PL*PLS*E3002A"}  # fmt: skip
ERROR_EVSES = {"DE*DRV*E6mayTt", "DE*DRV*E4JanRe", "DE*DRV*E9svnVs", "DE*DRV*E8vsnVn"}


async def charger(adapter: PlugsurfingAdapter, evse_id: str) -> Charger:
    return (await adapter.get_chargers([evse_id]))[evse_id]


async def start(
    adapter: PlugsurfingAdapter, evse_id: str, driver: str = "driver-1", index: int = 0
) -> ChargingSession:
    c = await charger(adapter, evse_id)
    session, extra = await adapter.start_session(StartRequest(driver, c, c.connectors[index].id))
    assert extra == {}
    return session


def ref(session: ChargingSession, driver: str = "driver-1") -> SessionRef:
    return SessionRef(driver, session.id)


async def watch(
    adapter: PlugsurfingAdapter, r: SessionRef, word: str, within: float = 5.0
) -> ChargingSession:
    async def fetch() -> ChargingSession | None:
        return await adapter.get_session(r)

    found = await eventually(fetch, lambda s: s is not None and s.provider_status == word, within)
    assert found is not None
    return found


def test_implements_the_protocol(adapter: PlugsurfingAdapter) -> None:
    assert isinstance(adapter, ProviderAdapter)
    assert adapter.provider is Provider.PLUGSURFING and adapter.has_history


async def test_geosearch_at_the_documented_coordinates(adapter: PlugsurfingAdapter) -> None:
    found = {c.id: c for c in await adapter.search_chargers(OK_POINT, 500, 300)}
    assert set(found) == NEAR_OK  # the one ~1.1 km away and the error location are out
    standards = {conn.standard for c in found.values() for conn in c.connectors}
    assert {"CCS", "TYPE2", "CHADEMO"} <= standards
    assert {c.id for c in found.values() if not c.remote_start_stop} == {"PL*PLS*E2002A"}
    assert found["PL*PLS*E3002A"].status is ChargerStatus.OUT_OF_ORDER
    dc = found["PL*PLS*E1001A"]
    assert dc.status is ChargerStatus.AVAILABLE and dc.city == "Warszawa"
    assert all(len(conn.id) == 88 for c in found.values() for conn in c.connectors)
    assert dc.tariff is not None and dc.tariff.price_per_kwh == Money(249, "PLN")
    errors = {c.id for c in await adapter.search_chargers(ERROR_POINT, 500, 300)}
    assert errors == ERROR_EVSES


async def test_get_chargers_is_one_upstream_request(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    await adapter.search_chargers(OK_POINT, 100, 10)  # fetches the token first
    await control.post("/_control/stats/reset")
    ids = [*sorted(NEAR_OK), *sorted(ERROR_EVSES), "PL*PLS*E4001A", "XX*NOPE*E1", "PL*PLS*E1001A"]
    chargers = await adapter.get_chargers(ids)
    assert set(chargers) == NEAR_OK | ERROR_EVSES | {"PL*PLS*E4001A"}
    assert chargers["DE*DRV*E6mayTt"].connectors[0].id.startswith("RfZBL8BkRQrTa//7")
    stats = (await control.get("/_control/stats")).json()
    assert stats == {"GET /drive/v1/evses": 1, "total": 1}
    assert await adapter.get_chargers([]) == {}


async def test_token_is_fetched_once_and_reused(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    await adapter.search_chargers(OK_POINT, 500, 10)
    await adapter.get_chargers(["PL*PLS*E1001A"])
    await adapter.list_sessions("driver-1", None, 10, SessionFilter())
    stats = (await control.get("/_control/stats")).json()
    assert stats[f"POST {TOKEN_PATH}"] == 1 and stats["total"] == 4
    # Revoked upstream: one refresh, and the call still succeeds.
    await control.post("/_control/tokens/expire")
    assert "PL*PLS*E1001A" in await adapter.get_chargers(["PL*PLS*E1001A"])
    stats = (await control.get("/_control/stats")).json()
    assert stats[f"POST {TOKEN_PATH}"] == 2


async def test_sandbox_refuses_requests_without_auth(control: httpx.AsyncClient) -> None:
    response = await control.get("/drive/v1/evses", params={"ids": "PL*PLS*E1001A"})
    assert response.status_code == 401
    form = {"grant_type": "client_credentials", "client_id": "bff", "client_secret": "wrong"}
    bad = await control.post(TOKEN_PATH, data=form)
    assert bad.status_code == 401


async def test_api_key_works_when_configured(
    sandbox: PlugsurfingSandbox, control: httpx.AsyncClient
) -> None:
    sandbox.config.plugsurfing_api_key = "stage-key"
    ok = await control.get("/drive/v1/evses", params={"ids": "PL*PLS*E1001A"},
                           headers={"x-api-key": "stage-key"})  # fmt: skip
    wrong = await control.get("/drive/v1/evses", params={"ids": "PL*PLS*E1001A"},
                              headers={"x-api-key": "nope"})  # fmt: skip
    assert (ok.status_code, wrong.status_code) == (200, 401)


async def test_full_lifecycle_to_completed(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    session = await start(adapter, "PL*PLS*E1001A")
    assert session.status is SessionStatus.STARTING
    assert session.provider_status in ("CREATED", "WAITING_TO_START")
    assert session.charger_id == "PL*PLS*E1001A" and session.charger_city == "Warszawa"
    r = ref(session)
    charging = await watch(adapter, r, "STARTED")
    assert charging.status is SessionStatus.CHARGING and charging.remote
    assert (await charger(adapter, "PL*PLS*E1001A")).status is ChargerStatus.OCCUPIED
    # Energy rises at the connector's power while charging.
    first = charging.energy.watt_hours if charging.energy else 0
    later = await eventually(
        lambda: adapter.get_session(r),
        lambda s: s is not None and s.energy is not None and s.energy.watt_hours > first + 100,
    )
    assert later is not None and later.cost is not None and later.cost.estimated
    stopping = await adapter.stop_session(r)
    assert stopping.status is SessionStatus.STOPPING
    stopped = await watch(adapter, r, "STOPPED")
    assert stopped.ended_at is not None and stopped.started_at is not None
    assert stopped.ended_at > stopped.started_at
    done = await watch(adapter, r, "COMPLETE")
    assert done.status is SessionStatus.COMPLETED and done.receipt_available
    assert done.energy is not None and done.energy.watt_hours > first + 100
    assert done.cost is not None and not done.cost.estimated
    assert done.cost.total.currency == "PLN" and done.cost.vat_percent == 23
    # 2.49 PLN per kWh incl. VAT, in grosze.
    expected = round(done.energy.watt_hours * 249 / 1000)
    assert abs(done.cost.total.amount_minor - expected) <= 1
    assert done.payment is not None and done.payment.status is PaymentStatus.PAID
    assert [t.outcome for t in done.payment.transactions] == ["CHARGE"]
    # Stopping an already stopped session is harmless.
    again = await adapter.stop_session(r)
    assert again.status is SessionStatus.COMPLETED
    # The receipt is a signed URL served by the sandbox.
    receipt = await adapter.get_receipt(r)
    assert receipt.available and receipt.url and receipt.expires_at
    assert receipt.cost == done.cost
    pdf = await control.get(receipt.url)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    tampered = await control.get(receipt.url.replace("signature=", "signature=0"))
    assert tampered.status_code == 403


async def test_receipt_url_expires(
    adapter: PlugsurfingAdapter, sandbox: PlugsurfingSandbox, control: httpx.AsyncClient
) -> None:
    [sid] = (await control.post("/_control/seed", json={"userId": "driver-1", "count": 1})).json()[
        "sessionIds"
    ]
    sandbox.receipts.ttl_sim_seconds = 10
    receipt = await adapter.get_receipt(SessionRef("driver-1", sid))
    assert receipt.url and receipt.expires_at
    expires_at = receipt.expires_at
    await until(lambda: sandbox.clock.now() > expires_at)
    assert (await control.get(receipt.url)).status_code == 403


async def test_no_receipt_before_completion(adapter: PlugsurfingAdapter) -> None:
    session = await start(adapter, "PL*PLS*E1002A")
    receipt = await adapter.get_receipt(ref(session))
    assert not receipt.available and receipt.url is None


async def test_start_hangs_in_waiting_to_start(
    adapter: PlugsurfingAdapter, sandbox: PlugsurfingSandbox
) -> None:
    session = await start(adapter, "DE*DRV*E6mayTt")
    t0 = sandbox.clock.now()
    await watch(adapter, ref(session), "WAITING_TO_START")
    await until(lambda: sandbox.clock.sim_seconds_since(t0) > 30)  # ten times a normal start
    still = await adapter.get_session(ref(session))
    assert still is not None and still.provider_status == "WAITING_TO_START"
    assert still.status is SessionStatus.STARTING
    with pytest.raises(ProviderRejected):  # nothing to stop yet
        await adapter.stop_session(ref(session))


async def test_stop_ignored_stays_started(
    adapter: PlugsurfingAdapter, sandbox: PlugsurfingSandbox
) -> None:
    session = await start(adapter, "DE*DRV*E4JanRe")
    await watch(adapter, ref(session), "STARTED")
    after_stop = await adapter.stop_session(ref(session))
    t0 = sandbox.clock.now()
    assert after_stop.provider_status == "STARTED"
    await until(lambda: sandbox.clock.sim_seconds_since(t0) > 20)  # > stop + stopped steps
    still = await adapter.get_session(ref(session))
    assert still is not None and still.status is SessionStatus.CHARGING
    assert still.provider_status == "STARTED" and not still.stop_failed


async def test_start_fails(adapter: PlugsurfingAdapter) -> None:
    session = await start(adapter, "DE*DRV*E9svnVs")
    failed = await watch(adapter, ref(session), "FAILED")
    assert failed.status is SessionStatus.FAILED
    assert failed.energy is None and failed.cost is None


async def test_stop_fails_and_fails_again(adapter: PlugsurfingAdapter) -> None:
    session = await start(adapter, "DE*DRV*E8vsnVn")
    r = ref(session)
    await watch(adapter, r, "STARTED")
    assert (await adapter.stop_session(r)).status is SessionStatus.STOPPING
    failed = await watch(adapter, r, "STOP_FAILED")
    assert failed.status is SessionStatus.CHARGING and failed.stop_failed
    retried = await adapter.stop_session(r)  # a new stop may be retried
    assert retried.status is SessionStatus.STOPPING and not retried.stop_failed
    again = await watch(adapter, r, "STOP_FAILED")
    assert again.stop_failed
    # Still charging: energy keeps rising.
    before = again.energy.watt_hours if again.energy else 0
    await eventually(
        lambda: adapter.get_session(r),
        lambda s: s is not None and s.energy is not None and s.energy.watt_hours > before,
    )


async def test_connector_blocked_for_60_sim_seconds(
    adapter: PlugsurfingAdapter, sandbox: PlugsurfingSandbox
) -> None:
    first = await start(adapter, "PL*PLS*E1001A")
    t0 = sandbox.clock.now()
    with pytest.raises(ProviderRejected) as exc:
        await start(adapter, "PL*PLS*E1001A", driver="driver-2")
    assert exc.value.reason == ProviderRejected.CONNECTOR_UNAVAILABLE
    assert "just started" in exc.value.message
    await until(lambda: sandbox.clock.sim_seconds_since(t0) > 61)
    # The block is over, but the first session charges at this EVSE: one car at a time,
    # on either of its connectors.
    await watch(adapter, ref(first), "STARTED")
    with pytest.raises(ProviderRejected) as exc:
        await start(adapter, "PL*PLS*E1001A", driver="driver-2", index=1)
    assert "charging" in exc.value.message
    await adapter.stop_session(ref(first))
    await watch(adapter, ref(first), "STOPPED")
    second = await start(adapter, "PL*PLS*E1001A", driver="driver-2")
    assert second.id != first.id


async def test_a_second_session_on_a_charging_evse_is_refused(
    adapter: PlugsurfingAdapter, sandbox: PlugsurfingSandbox
) -> None:
    first = await start(adapter, "PL*PLS*E2001A")
    t0 = sandbox.clock.now()
    await watch(adapter, ref(first), "STARTED")
    await until(lambda: sandbox.clock.sim_seconds_since(t0) > 61)  # past the 60 s block
    c = await charger(adapter, "PL*PLS*E2001A")
    raw = await adapter.client.http.request(  # the wire answer, with the adapter's auth
        "POST",
        "/drive/v1/users/driver-2/sessions/start",
        idempotent=False,
        ok_statuses=(409,),
        json={"connectorId": c.connectors[0].id},
    )
    # Refused at once, and the attempt is stored (seed 001: every attempt has an id).
    assert raw.status_code == 409 and raw.json()["code"] == "CONNECTOR_OCCUPIED"
    attempt = await adapter.get_session(SessionRef("driver-2", raw.json()["sessionId"]))
    assert attempt is not None and attempt.status is SessionStatus.FAILED
    with pytest.raises(ProviderRejected) as exc:
        await start(adapter, "PL*PLS*E2001A", driver="driver-3")
    assert exc.value.reason == ProviderRejected.CONNECTOR_UNAVAILABLE
    assert exc.value.message == "Someone is charging at this charger"
    assert (await adapter.get_session(ref(first))).provider_status == "STARTED"  # type: ignore[union-attr]


async def test_start_rejections(adapter: PlugsurfingAdapter) -> None:
    with pytest.raises(ProviderRejected) as exc:
        await start(adapter, "PL*PLS*E2002A")
    assert exc.value.reason == ProviderRejected.NOT_SUPPORTED
    with pytest.raises(ProviderRejected) as exc:
        await start(adapter, "PL*PLS*E3002A")
    assert exc.value.reason == ProviderRejected.CONNECTOR_UNAVAILABLE
    c = await charger(adapter, "PL*PLS*E1001A")
    with pytest.raises(ProviderRejected) as exc:
        await adapter.start_session(StartRequest("driver-1", c, "bm90LWEtY29ubmVjdG9y"))
    assert exc.value.reason == ProviderRejected.UNKNOWN_CONNECTOR


async def test_sessions_are_private_to_their_driver(adapter: PlugsurfingAdapter) -> None:
    session = await start(adapter, "PL*PLS*E1002A")
    assert await adapter.get_session(ref(session, "driver-2")) is None
    with pytest.raises(ProviderNotFound):
        await adapter.stop_session(ref(session, "driver-2"))
    assert await adapter.get_session(SessionRef("driver-1", "NoSuchSess1")) is None


async def test_3ds_challenge_then_start_succeeds(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    driver = "3ds-driver"
    session = await start(adapter, "PL*PLS*E1002A", driver=driver)
    assert session.status is SessionStatus.STARTING
    assert session.payment is not None
    assert session.payment.status is PaymentStatus.REQUIRES_ACTION
    secret = session.payment.client_secret
    assert secret and "secret" in secret
    done = await control.post("/_control/3ds/complete", json={"clientSecret": secret})
    assert done.json() == {"ok": True, "userId": driver}
    attempt = await watch(adapter, ref(session, driver), "FAILED")
    assert attempt.status is SessionStatus.FAILED
    # The challenge attempt did not block the connector: start again at once.
    real = await start(adapter, "PL*PLS*E1002A", driver=driver)
    assert real.payment is not None and real.payment.status is not PaymentStatus.REQUIRES_ACTION
    await watch(adapter, ref(real, driver), "STARTED")


async def test_debt_then_retry_payment(adapter: PlugsurfingAdapter) -> None:
    driver = "debt-driver"
    session = await start(adapter, "PL*PLS*E3001A", driver=driver)
    r = ref(session, driver)
    await watch(adapter, r, "STARTED")
    await eventually(
        lambda: adapter.get_session(r),
        lambda s: s is not None and s.energy is not None and s.energy.watt_hours > 0,
    )
    await adapter.stop_session(r)
    done = await watch(adapter, r, "COMPLETE")
    assert done.payment is not None and done.payment.status is PaymentStatus.DEBT
    assert done.cost is not None and done.payment.outstanding == done.cost.total
    assert done.payment.outstanding.amount_minor > 0
    paid = await adapter.retry_payment(r)
    assert paid.payment is not None and paid.payment.status is PaymentStatus.PAID
    assert paid.payment.outstanding is None
    assert [t.amount for t in paid.payment.transactions] == [done.cost.total]
    with pytest.raises(ProviderRejected):  # nothing left to pay
        await adapter.retry_payment(r)


async def test_refund_shows_as_refunded(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    [sid] = (await control.post("/_control/seed", json={"userId": "driver-1", "count": 1})).json()[
        "sessionIds"
    ]
    assert (await control.post(f"/_control/sessions/{sid}/refund")).status_code == 200
    s = await adapter.get_session(SessionRef("driver-1", sid))
    assert s is not None and s.status is SessionStatus.REFUNDED
    assert s.payment is not None and s.payment.status is PaymentStatus.REFUNDED


async def test_charging_profiles_are_not_supported(adapter: PlugsurfingAdapter) -> None:
    r = SessionRef("driver-1", "whatever")
    with pytest.raises(ProviderRejected) as exc:
        await adapter.set_charging_profile(r, ChargingProfile(max_charge_rate_kw=7.0))
    assert exc.value.reason == ProviderRejected.NOT_SUPPORTED
    with pytest.raises(ProviderRejected) as exc:
        await adapter.clear_charging_profile(r)
    assert exc.value.reason == ProviderRejected.NOT_SUPPORTED


async def test_more_ids_than_one_batch_takes_two_requests(
    adapter: PlugsurfingAdapter, control: httpx.AsyncClient
) -> None:
    await adapter.get_chargers(["PL*PLS*E1001A"])  # fetches the token first
    await control.post("/_control/stats/reset")
    ids = [f"XX*NOPE*E{i}" for i in range(149)] + ["PL*PLS*E1001A"]
    assert set(await adapter.get_chargers(ids)) == {"PL*PLS*E1001A"}
    assert (await control.get("/_control/stats")).json()["GET /drive/v1/evses"] == 2


async def test_seed_geosearch_request_with_status_filter(
    sandbox: PlugsurfingSandbox, control: httpx.AsyncClient
) -> None:
    # The guide's curl, verbatim apart from the host and key.
    sandbox.config.plugsurfing_api_key = "YourApiKey"
    response = await control.post(
        "/drive/v1/geosearch/radius?latitude=52.290056&longitude=20.907028&distance=500&limit=300&aggregate=false",
        headers={"X-API-Key": "YourApiKey", "accept": "*/*"},
        json={"filters": {"locationStatuses": ["AVAILABLE"]}},
    )
    assert response.status_code == 200
    locations = response.json()["locations"]
    assert [loc["status"] for loc in locations] == ["AVAILABLE"] * len(locations)
    distances = [loc["distance"] for loc in locations]
    assert distances == sorted(distances) and distances[-1] <= 500
    evse_ids = {e["evseId"] for loc in locations for e in loc["evses"]}
    assert evse_ids == NEAR_OK
