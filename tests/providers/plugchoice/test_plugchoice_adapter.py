"""PlugchoiceAdapter against the real Plugchoice sandbox app (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from bff.domain.model import (
    ChargerStatus,
    ChargingProfile,
    GeoPoint,
    PaymentStatus,
    Provider,
    SessionFilter,
    SessionRef,
    SessionStatus,
)
from bff.domain.money import Money
from bff.errors import ProviderNotFound, ProviderRateLimited, ProviderRejected, ProviderUnavailable
from bff.providers.base import ProviderAdapter, StartRequest
from bff.providers.plugchoice.adapter import PlugchoiceAdapter
from bff.providers.plugchoice.mappers import session_id_for_token
from bff.providers.registry import build_adapter
from bff.settings import Settings

from .plugchoice_support import PlugchoiceRig

UTRECHT = GeoPoint(52.0907, 5.1214)
CHARGERS_ROUTE = "GET /api/v3/public-charging/chargers"


def test_adapter_shape(adapter: PlugchoiceAdapter) -> None:
    assert isinstance(adapter, ProviderAdapter)
    assert adapter.provider is Provider.PLUGCHOICE
    assert adapter.has_history is False


async def test_search_around_utrecht(adapter: PlugchoiceAdapter) -> None:
    chargers = await adapter.search_chargers(UTRECHT, 1000, 50)
    by_id = {c.id: c for c in chargers}
    assert len(by_id) >= 4
    assert "UTR08" not in by_id  # Zeist is ~8 km away
    assert by_id["UTR03"].status is ChargerStatus.OFFLINE
    neude = by_id["UTR02"]
    assert neude.status is ChargerStatus.AVAILABLE
    assert neude.connector("2") is not None
    assert neude.connector("2").status is ChargerStatus.OUT_OF_ORDER  # type: ignore[union-attr]
    dom = by_id["UTR01"]
    assert dom.provider is Provider.PLUGCHOICE
    assert dom.tariff is not None
    assert dom.tariff.price_per_kwh == Money(39, "EUR")
    assert dom.tariff.start_fee == Money(50, "EUR")
    assert [c.power_kw for c in dom.connectors] == [22.1, 22.1]
    assert dom.remote_start_stop and not dom.smart_charging
    assert len(await adapter.search_chargers(UTRECHT, 1000, 2)) == 2


async def test_batch_charger_lookup_is_one_request(rig: PlugchoiceRig) -> None:
    found = await rig.adapter.get_chargers(["UTR01", "utr02", "UTR03", "NOPE9"])
    assert set(found) == {"UTR01", "utr02", "UTR03"}
    assert found["utr02"].id == "UTR02"
    assert (await rig.stats())[CHARGERS_ROUTE] == 1


async def test_full_lifecycle(rig: PlugchoiceRig) -> None:
    session, ref = await rig.start()
    token = ref.extra["token"]
    assert session.id == session_id_for_token(token)
    assert token not in session.id
    assert session.status is SessionStatus.STARTING
    assert session.provider_status == "created"
    assert (session.charger_id, session.connector_id) == ("UTR01", "1")
    payment = session.payment
    assert payment is not None
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.client_secret is not None and "_secret_" in payment.client_secret
    assert payment.publishable_key is not None and payment.publishable_key.startswith("pk_")
    assert payment.authorized == Money(5000, "EUR")

    polled = await rig.session(ref)  # the card step can be resumed from a poll
    assert polled.payment is not None and polled.payment.client_secret == payment.client_secret

    confirmed = await rig.adapter.confirm_payment(ref)
    assert confirmed.provider_status in ("authorized", "starting", "charging")
    assert confirmed.payment is not None
    assert confirmed.payment.status is PaymentStatus.AUTHORIZED
    assert confirmed.payment.client_secret is None

    charging = await rig.until(ref, "charging")
    assert charging.status is SessionStatus.CHARGING
    assert charging.started_at is not None
    first = await rig.wait_for(lambda: rig.session(ref), lambda s: (s.energy or 0) != 0)
    assert first.energy is not None
    rising = await rig.wait_for(
        lambda: rig.session(ref),
        lambda s: s.energy is not None and s.energy.watt_hours > first.energy.watt_hours,  # type: ignore[union-attr]
    )
    assert rising.cost is not None and rising.cost.estimated is True
    assert rising.cost.total.amount_minor >= 50  # the start fee at least
    dom = await rig.charger("UTR01")
    assert dom.connector("1").status is ChargerStatus.OCCUPIED  # type: ignore[union-attr]

    stopping = await rig.adapter.stop_session(ref)
    assert stopping.status is SessionStatus.STOPPING
    done = await rig.until(ref, "captured")
    assert done.status is SessionStatus.COMPLETED
    assert done.ended_at is not None and done.started_at is not None
    assert done.duration_seconds is not None and done.duration_seconds >= 0
    assert done.payment is not None and done.payment.status is PaymentStatus.PAID
    cost = done.cost
    assert cost is not None and cost.estimated is False and cost.excl_vat is not None
    total = cost.total.amount_minor
    vat = int((Decimal(total) * 21 / 121).quantize(Decimal(1), ROUND_HALF_UP))
    assert cost.excl_vat == Money(total - vat, "EUR")
    assert done.payment.captured == cost.total
    assert done.energy is not None and done.energy.watt_hours >= rising.energy.watt_hours  # type: ignore[union-attr]
    assert done.receipt_available is True

    receipt = await rig.adapter.get_receipt(ref)
    assert receipt.available is True
    assert receipt.url is None  # Plugchoice e-mails it: the BFF serves a document of its own
    assert receipt.cost == cost
    assert receipt.emailed_to == "driver@example.nl"
    assert (receipt.started_at, receipt.ended_at) == (done.started_at, done.ended_at)
    assert receipt.energy == done.energy and receipt.charger_name == "Domplein"
    assert receipt.payment_status is PaymentStatus.PAID
    assert (await rig.charger("UTR01")).connector("1").status is ChargerStatus.AVAILABLE  # type: ignore[union-attr]


async def test_receipt_is_unavailable_before_capture(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start()
    receipt = await rig.adapter.get_receipt(ref)
    assert (receipt.available, receipt.cost) == (False, None)


@pytest.mark.parametrize(
    ("code", "connector", "reason"),
    [
        ("UTR03", "1", ProviderRejected.CHARGER_OFFLINE),
        ("UTR02", "2", ProviderRejected.CONNECTOR_UNAVAILABLE),  # Faulted
        ("UTR04", "2", ProviderRejected.CONNECTOR_UNAVAILABLE),  # Reserved
        ("UTR01", "9", ProviderRejected.UNKNOWN_CONNECTOR),
        ("UTR01", "one", ProviderRejected.UNKNOWN_CONNECTOR),
    ],
)
async def test_start_refusals(rig: PlugchoiceRig, code: str, connector: str, reason: str) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await rig.start(code, connector)
    assert caught.value.reason == reason


async def test_connector_in_use_is_unavailable(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start()
    await rig.adapter.confirm_payment(ref)
    with pytest.raises(ProviderRejected) as caught:
        await rig.start()
    assert caught.value.reason == ProviderRejected.CONNECTOR_UNAVAILABLE


async def test_invalid_email_is_rejected(rig: PlugchoiceRig) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await rig.start(email="not-an-email")
    assert caught.value.reason == ProviderRejected.INVALID


async def test_unknown_charger_is_not_found(rig: PlugchoiceRig) -> None:
    charger = await rig.charger("UTR01")
    with pytest.raises(ProviderNotFound):
        await rig.adapter.start_session(StartRequest("d", replace(charger, id="NOPE1"), "1"))


async def test_confirm_rate_limit(make_rig: Callable[..., PlugchoiceRig]) -> None:
    rig = make_rig(speed=1.0)  # a real minute, so the window cannot slide mid-test
    _, ref = await rig.start()
    for _ in range(10):
        await rig.adapter.confirm_payment(ref)
    with pytest.raises(ProviderRateLimited) as caught:
        await rig.adapter.confirm_payment(ref)
    assert 1 <= caught.value.retry_after_seconds <= 60


async def test_show_rate_limit(make_rig: Callable[..., PlugchoiceRig]) -> None:
    rig = make_rig(speed=1.0, retries=0)
    _, ref = await rig.start()
    for _ in range(30):
        await rig.session(ref)
    with pytest.raises(ProviderRateLimited):
        await rig.adapter.get_session(ref)


async def test_expired_token(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start()
    response = await rig.post("/_control/expire", {"token": ref.extra["token"]})
    assert response.status_code == 200
    assert await rig.adapter.get_session(ref) is None
    for call in (rig.adapter.confirm_payment, rig.adapter.stop_session, rig.adapter.get_receipt):
        with pytest.raises(ProviderNotFound, match="unknown or expired"):
            await call(ref)


async def test_unconfirmed_session_expires_on_the_clock(
    make_rig: Callable[..., PlugchoiceRig],
) -> None:
    rig = make_rig(speed=3000.0)  # 10 sim minutes = 0.2 s
    _, ref = await rig.start()
    await rig.wait_for(lambda: rig.adapter.get_session(ref), lambda s: s is None)
    with pytest.raises(ProviderNotFound):
        await rig.adapter.confirm_payment(ref)


@pytest.mark.parametrize("extra", [{"token": "never-issued"}, {}])
async def test_unknown_or_missing_token(adapter: PlugchoiceAdapter, extra: dict[str, str]) -> None:
    ref = SessionRef("d", "s", extra)
    assert await adapter.get_session(ref) is None
    with pytest.raises(ProviderNotFound):
        await adapter.confirm_payment(ref)


async def test_stop_before_charging_cancels_and_releases_the_hold(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start()
    session = await rig.adapter.stop_session(ref)
    assert session.status is SessionStatus.ABANDONED
    assert session.payment is not None and session.payment.status is PaymentStatus.NONE
    with pytest.raises(ProviderRejected):
        await rig.adapter.cancel_session(ref)


async def test_no_energy_ends_in_no_charge(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start("UTR06")  # a car with a full battery
    await rig.adapter.confirm_payment(ref)
    charging = await rig.until(ref, "charging")
    assert charging.energy is not None and charging.energy.watt_hours == 0
    assert (await rig.charger("UTR06")).connector("1").status is ChargerStatus.OCCUPIED  # type: ignore[union-attr]
    await rig.adapter.stop_session(ref)
    done = await rig.until(ref, "no_charge")
    assert done.status is SessionStatus.FAILED
    assert done.failure_reason == "The session ended without delivering energy."
    assert done.payment is not None and done.payment.status is PaymentStatus.NONE
    assert (await rig.adapter.get_receipt(ref)).available is False


async def test_rejected_remote_start_fails(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start("UTR07")
    await rig.adapter.confirm_payment(ref)
    failed = await rig.until(ref, "failed")
    assert failed.status is SessionStatus.FAILED
    assert failed.failure_reason


@pytest.mark.parametrize(
    ("word", "status", "payment"),
    [
        ("refunded", SessionStatus.REFUNDED, PaymentStatus.REFUNDED),
        ("capture_failed", SessionStatus.COMPLETED, PaymentStatus.FAILED),
        ("written_off", SessionStatus.COMPLETED, PaymentStatus.WRITTEN_OFF),
        ("requires_review", SessionStatus.STOPPED, PaymentStatus.PROCESSING),
        ("beamed_up", SessionStatus.FAILED, PaymentStatus.NONE),
    ],
)
async def test_back_office_words(
    rig: PlugchoiceRig, word: str, status: SessionStatus, payment: PaymentStatus
) -> None:
    _, ref = await rig.start()
    await rig.adapter.confirm_payment(ref)
    await rig.until(ref, "charging")
    response = await rig.post("/_control/status", {"token": ref.extra["token"], "status": word})
    assert response.json()["data"]["status"] == word
    session = await rig.session(ref)
    assert (session.provider_status, session.status) == (word, status)
    assert session.payment is not None and session.payment.status is payment
    if word == "capture_failed":
        assert session.payment.outstanding is not None
        assert session.payment.outstanding.amount_minor >= 50


async def test_seeded_history(rig: PlugchoiceRig) -> None:
    body = {"count": 3, "email": "driver@example.nl", "public_code": "UTR05"}
    tokens = (await rig.post("/_control/seed", body)).json()["tokens"]
    assert len(tokens) == 3
    sessions = [await rig.session(SessionRef("d", "", {"token": t})) for t in tokens]
    assert all(s.status is SessionStatus.COMPLETED for s in sessions)
    assert all(s.charger_id == "UTR05" and s.receipt_available for s in sessions)
    created = [s.created_at for s in sessions if s.created_at is not None]
    assert len(created) == 3 and created == sorted(created)  # oldest first
    assert len({s.id for s in sessions}) == 3


@pytest.mark.parametrize("call", ["retry_payment", "clear_charging_profile"])
async def test_not_supported(adapter: PlugchoiceAdapter, call: str) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await getattr(adapter, call)(SessionRef("d", "s", {"token": "t"}))
    assert caught.value.reason == ProviderRejected.NOT_SUPPORTED


async def test_profiles_and_history_are_not_supported(adapter: PlugchoiceAdapter) -> None:
    ref = SessionRef("d", "s", {"token": "t"})
    with pytest.raises(ProviderRejected) as caught:
        await adapter.set_charging_profile(ref, ChargingProfile(max_charge_rate_kw=7.0))
    assert caught.value.reason == ProviderRejected.NOT_SUPPORTED
    with pytest.raises(NotImplementedError):
        await adapter.list_sessions("d", None, 10, SessionFilter())


async def test_sandbox_outage_is_unavailable(make_rig: Callable[..., PlugchoiceRig]) -> None:
    rig = make_rig(retries=0)
    await rig.post("/_control/faults", {"down": True})
    with pytest.raises(ProviderUnavailable):
        await rig.adapter.search_chargers(UTRECHT, 1000, 10)


async def test_mounted_sandbox_under_a_path(rig: PlugchoiceRig) -> None:
    """As the BFF runs it: the sandbox mounted at /plugchoice, the adapter's base URL there."""
    outer = Starlette(routes=[Mount("/plugchoice", app=rig.sandbox.app())])
    transport = httpx.ASGITransport(app=outer)
    adapter, client = build_adapter(
        Provider.PLUGCHOICE, "http://bff.test/plugchoice", Settings(), transport=transport
    )
    try:
        found = await adapter.get_chargers(["UTR01", "UTR02"])
        assert set(found) == {"UTR01", "UTR02"}
    finally:
        await client.aclose()
    assert (await rig.stats())[CHARGERS_ROUTE] == 1


async def test_over_a_real_server(rig: PlugchoiceRig) -> None:
    """The same adapter over TCP to uvicorn on 127.0.0.1, the sandbox mounted as in the BFF."""
    outer = Starlette(routes=[Mount("/plugchoice", app=rig.sandbox.app())])
    config = uvicorn.Config(outer, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:

        async def started() -> bool:
            return server.started

        await rig.wait_for(started, bool)
        port = server.servers[0].sockets[0].getsockname()[1]
        adapter, client = build_adapter(
            Provider.PLUGCHOICE, f"http://127.0.0.1:{port}/plugchoice", Settings()
        )
        try:
            charger = (await adapter.get_chargers(["UTR01"]))["UTR01"]
            session, extra = await adapter.start_session(StartRequest("d", charger, "2"))
            ref = SessionRef("d", session.id, extra)
            await adapter.confirm_payment(ref)
            charging = await rig.wait_for(
                lambda: adapter.get_session(ref),
                lambda s: s is not None and s.status is SessionStatus.CHARGING,
            )
            assert charging is not None and charging.connector_id == "2"
        finally:
            await client.aclose()
    finally:
        server.should_exit = True
        await task
