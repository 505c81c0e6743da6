"""The client over httpx.MockTransport: user JWTs, retries, error translation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from bff.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from bff.providers.http import ProviderHttp
from bff.providers.roaming.client import MAX_IDS_PER_LOOKUP, RoamingClient
from bff.providers.roaming.constants import RECEIPT_NOT_AVAILABLE, SESSION_ENDED
from bff.providers.roaming.schemas import ChargingProfileRequest, StartSessionRequest

SECRET = "client-test-secret-of-at-least-32-bytes"
NOW = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
STATUS = {
    "session_id": "s1",
    "status": "active",
    "energy_kwh": 1.5,
    "cost": 0.53,
    "currency": "EUR",
}

Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, seen: list[httpx.Request]) -> RoamingClient:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(record), base_url="http://p/roaming")
    return RoamingClient(ProviderHttp("ROAMING", client, retries=2), SECRET, 300, now=lambda: NOW)


def claims(request: httpx.Request) -> dict[str, object]:
    scheme, _, token = request.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    decoded: dict[str, object] = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    return decoded


async def test_session_calls_carry_the_drivers_jwt() -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: httpx.Response(200, json=STATUS), seen)
    obj = await client.get_status("driver-7", "s1")
    assert obj.session_id == "s1"
    (request,) = seen
    assert request.url.path == "/roaming/v1/sessions/s1/status"
    c = claims(request)
    assert c["sub"] == "driver-7"
    assert c["exp"] == int((NOW + timedelta(seconds=300)).timestamp())


async def test_evse_calls_use_the_service_subject() -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: httpx.Response(200, json={"evses": []}), seen)
    assert await client.search_evses(60.1699, 24.9384, 1000, 10) == []
    (request,) = seen
    assert claims(request)["sub"] == "bff"
    assert dict(request.url.params) == {
        "latitude": "60.1699",
        "longitude": "24.9384",
        "radius": "1000",
        "limit": "10",
    }


async def test_start_body_is_the_documented_json() -> None:
    seen: list[httpx.Request] = []
    answer = {
        "session_id": "s1",
        "status": "pending",
        "evse_id": "FI-VRT-E12345",
        "network": "Virta",
    }
    client = make(lambda r: httpx.Response(200, json=answer), seen)
    body = StartSessionRequest(
        evse_id="FI-VRT-E12345", connector_type="CCS", battery_target_kwh=60.0
    )
    resp = await client.start_session("d", body)
    assert resp.status == "pending"
    assert json.loads(seen[0].content) == {
        "evse_id": "FI-VRT-E12345",
        "connector_type": "CCS",
        "battery_target_kwh": 60.0,
    }


async def test_writes_are_not_retried() -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: httpx.Response(503), seen)
    with pytest.raises(ProviderUnavailable):
        await client.stop_session("d", "s1")
    assert len(seen) == 1


async def test_reads_are_retried() -> None:
    seen: list[httpx.Request] = []
    answers = iter([httpx.Response(503), httpx.Response(200, json=STATUS)])
    client = make(lambda r: next(answers), seen)
    obj = await client.get_status("d", "s1")
    assert obj.status == "active"
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (409, "smart_charging_not_supported", ProviderRejected.NOT_SUPPORTED),
        (409, "evse_occupied", ProviderRejected.CONNECTOR_UNAVAILABLE),
        (409, "evse_out_of_order", ProviderRejected.CHARGER_OFFLINE),
        (422, "unknown_connector_type", ProviderRejected.UNKNOWN_CONNECTOR),
        (409, "session_not_active", SESSION_ENDED),
        (409, "something_new", ProviderRejected.INVALID),
        (400, "invalid_request", ProviderRejected.INVALID),
    ],
)
async def test_rejections_carry_the_platforms_reason(status: int, code: str, reason: str) -> None:
    seen: list[httpx.Request] = []
    secret_detail = "internal detail x-123"
    client = make(
        lambda r: httpx.Response(status, json={"error": code, "message": secret_detail}), seen
    )
    with pytest.raises(ProviderRejected) as info:
        await client.set_charging_profile("d", "s1", ChargingProfileRequest(max_charge_rate_kw=7.4))
    assert info.value.reason == reason
    assert secret_detail not in info.value.message


async def test_rejection_without_a_body() -> None:
    client = make(lambda r: httpx.Response(409, text="<html>"), [])
    with pytest.raises(ProviderRejected) as info:
        await client.clear_charging_profile("d", "s1")
    assert info.value.reason == ProviderRejected.INVALID


async def test_receipt_not_available() -> None:
    client = make(lambda r: httpx.Response(409, json={"error": "receipt_not_available"}), [])
    with pytest.raises(ProviderRejected) as info:
        await client.get_receipt("d", "s1")
    assert info.value.reason == RECEIPT_NOT_AVAILABLE


async def test_not_found() -> None:
    client = make(lambda r: httpx.Response(404, json={"error": "session_not_found"}), [])
    with pytest.raises(ProviderNotFound):
        await client.get_status("d", "s1")


async def test_unreadable_success_is_unavailable() -> None:
    client = make(lambda r: httpx.Response(200, json={"unexpected": True}), [])
    with pytest.raises(ProviderUnavailable):
        await client.get_status("d", "s1")


async def test_unknown_currency_is_unreadable() -> None:
    client = make(lambda r: httpx.Response(200, json={**STATUS, "currency": "XYZ"}), [])
    with pytest.raises(ProviderUnavailable):
        await client.get_status("d", "s1")


async def test_session_id_stays_one_path_segment() -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: httpx.Response(200, json=STATUS), seen)
    await client.get_status("d", "../../v1/evses?ids=x")
    assert seen[0].url.raw_path == b"/roaming/v1/sessions/..%2F..%2Fv1%2Fevses%3Fids%3Dx/status"
    with pytest.raises(ProviderNotFound):
        await client.get_status("d", "..")


async def test_batch_lookup_dedupes_and_chunks() -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: httpx.Response(200, json={"evses": []}), seen)
    ids = [f"FI-VRT-E{i:05d}" for i in range(MAX_IDS_PER_LOOKUP + 5)]
    await client.get_evses([*ids, ids[0]])
    asked = [r.url.params["ids"].split(",") for r in seen]
    assert [len(a) for a in asked] == [MAX_IDS_PER_LOOKUP, 5]
    assert list(itertools.chain.from_iterable(asked)) == ids


async def test_empty_lookup_sends_nothing() -> None:
    seen: list[httpx.Request] = []
    client = make(lambda r: httpx.Response(200, json={"evses": []}), seen)
    assert await client.get_evses([]) == []
    assert seen == []


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/status", {**STATUS, "cost": 1e308}, "cost"),
    ("/status", {**STATUS, "cost": -1}, "cost"),
    ("/status", {**STATUS, "energy_kwh": 1e308}, "energy_kwh"),
    ("/status", {**STATUS, "duration_minutes": 10**12}, "duration_minutes"),
    ("/receipt", {"session_id": "s1", "energy_kwh": 1, "cost": 1e30, "currency": "EUR"}, "cost"),
])
async def test_absurd_values_are_unavailable_and_logged_by_field(
    path: str, body: dict[str, object], where: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 12 item 7: a poll of such an answer writes nothing (it was 1e308 -> a 503).
    client = make(lambda r: httpx.Response(200, content=json.dumps(body)), [])
    with caplog.at_level("WARNING"), pytest.raises(ProviderUnavailable):
        if path == "/status":
            await client.get_status("d", "s1")
        else:
            await client.get_receipt("d", "s1")
    assert f": {where} (" in caplog.text and "1e+308" not in caplog.text
