"""The Plugchoice sandbox over raw HTTP: shapes, limits, clock and control routes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bff.errors import ProviderRejected
from tests.providers.plugchoice.plugchoice_support import PlugchoiceRig

API = "/api/v3/public-charging"
SEED_FIELDS = {
    "status", "failure_reason", "connector_id", "connector_status", "charger", "pricing",
    "amount_authorized", "energy_kwh", "cost_amount", "amount_captured", "tax_amount",
    "driver_email", "created_at", "authorized_at", "charging_started_at", "completed_at",
    "captured_at",
}  # fmt: skip
LARAVEL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def start(c: httpx.AsyncClient, code: str = "UTR01", connector: int = 1) -> httpx.Response:
    return await c.post(f"{API}/sessions", json={"code": code, "connector_id": connector})


async def test_start_answers_the_documented_shape(rig: PlugchoiceRig) -> None:
    body = {"code": "utr01", "connector_id": 1, "email": "a@b.nl"}
    r = await rig.control.post(f"{API}/sessions", json=body)
    assert r.status_code == 201
    payload = r.json()
    assert set(payload) == {"session_token", "data", "payment"}
    data = payload["data"]
    assert set(data) == SEED_FIELDS
    assert data["status"] == "created"
    assert data["charger"] == {"public_code": "UTR01", "name": "Domplein", "online": True}
    assert data["pricing"] == {"currency": "EUR", "price_per_kwh": 39, "start_fee": 50}
    assert (data["amount_authorized"], data["driver_email"]) == (5000, "a@b.nl")
    assert LARAVEL_TIME.match(data["created_at"])
    assert set(payload["payment"]) == {"client_secret", "publishable_key", "stripe_account_id"}
    assert payload["payment"]["client_secret"].startswith("pi_")

    token = payload["session_token"]
    await rig.control.post(f"{API}/sessions/{token}/confirm")
    shown = (await rig.control.get(f"{API}/sessions/{token}")).json()
    assert shown["payment"] is None  # only while created
    assert LARAVEL_TIME.match(shown["data"]["authorized_at"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"connector_id": 1}, "code"),
        ({"code": "UTR01", "connector_id": 0}, "connector_id"),
        ({"code": "UTR01-TOO-LONG", "connector_id": 1}, "code"),
        ({"code": "UTR01", "connector_id": 1, "email": "nope"}, "email"),
    ],
)
async def test_start_validation_is_laravel_shaped(
    rig: PlugchoiceRig, body: dict[str, Any], field: str
) -> None:
    r = await rig.control.post(f"{API}/sessions", json=body)
    assert r.status_code == 422
    assert field in r.json()["errors"]
    assert r.json()["message"]


async def test_start_limit_is_per_client_and_slides_with_the_clock(
    make_rig: Callable[..., PlugchoiceRig],
) -> None:
    rig = make_rig(speed=600.0)  # a 60 sim s window is 0.1 s
    c = rig.control
    for _ in range(3):
        assert (await start(c, "NOPE1")).status_code == 404  # refused starts count too
    limited = await start(c, "NOPE1")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    other = httpx.ASGITransport(app=rig.sandbox.app(), client=("10.0.0.2", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://pc.test") as elsewhere:
        assert (await start(elsewhere)).status_code == 201
    r = await rig.wait_for(lambda: start(c), lambda r: r.status_code != 429, within=2.0)
    assert r.status_code == 201


async def test_retry_after_is_in_real_seconds(make_rig: Callable[..., PlugchoiceRig]) -> None:
    rig = make_rig(speed=1.0)
    for _ in range(3):
        await start(rig.control, "NOPE1")
    r = await start(rig.control, "NOPE1")
    assert r.status_code == 429
    assert 55 <= int(r.headers["Retry-After"]) <= 60


async def test_charger_accepts_a_limited_number_of_starts_an_hour(rig: PlugchoiceRig) -> None:
    rig.sandbox.api.limits["start"] = 100
    rig.sandbox.api.charger_starts_per_hour = 2
    assert [(await start(rig.control)).status_code for _ in range(3)] == [201, 201, 429]
    assert (await start(rig.control, "UTR04")).status_code == 201


async def test_cost_is_capped_at_the_authorized_amount(rig: PlugchoiceRig) -> None:
    rig.sandbox.world.chargers["UTR05"].hold = 25  # 50 kW DC at 59 ct/kWh passes 25 ct in ~0.3 s
    token = (await start(rig.control, "UTR05")).json()["session_token"]
    await rig.control.post(f"{API}/sessions/{token}/confirm")

    async def show() -> dict[str, Any]:
        data: dict[str, Any] = (await rig.control.get(f"{API}/sessions/{token}")).json()["data"]
        return data

    capped = await rig.wait_for(show, lambda d: d["cost_amount"] == 25)
    later = await rig.wait_for(show, lambda d: float(d["energy_kwh"]) > float(capped["energy_kwh"]))
    assert later["cost_amount"] == 25


async def test_a_connector_taken_before_confirm_fails_the_later_session(rig: PlugchoiceRig) -> None:
    first = (await start(rig.control)).json()["session_token"]
    second = (await start(rig.control)).json()["session_token"]  # created sessions hold nothing
    await rig.control.post(f"{API}/sessions/{first}/confirm")
    await rig.control.post(f"{API}/sessions/{second}/confirm")

    async def status(token: str) -> str:
        return str((await rig.control.get(f"{API}/sessions/{token}")).json()["data"]["status"])

    assert await rig.wait_for(lambda: status(second), lambda s: s == "failed") == "failed"
    assert await rig.wait_for(lambda: status(first), lambda s: s == "charging") == "charging"


async def test_offline_charger_refuses_the_stop(rig: PlugchoiceRig) -> None:
    _, ref = await rig.start()
    await rig.adapter.confirm_payment(ref)
    await rig.until(ref, "charging")
    r = await rig.post("/_control/charger", {"public_code": "UTR01", "online": False})
    assert r.json()["data"]["online"] is False
    with pytest.raises(ProviderRejected) as caught:
        await rig.adapter.stop_session(ref)
    assert caught.value.reason == ProviderRejected.CHARGER_OFFLINE
    assert (await rig.session(ref)).provider_status == "charging"


async def test_control_charger_faults_a_connector(rig: PlugchoiceRig) -> None:
    body = {"public_code": "UTR01", "connector_id": 2, "status": "Faulted"}
    assert (await rig.post("/_control/charger", body)).status_code == 200
    assert (await start(rig.control, "UTR01", 2)).status_code == 409


async def test_charger_queries(rig: PlugchoiceRig) -> None:
    c = rig.control
    assert (await c.get(f"{API}/chargers")).status_code == 422
    many = ",".join(f"C{i}" for i in range(101))
    assert (await c.get(f"{API}/chargers", params={"codes": many})).status_code == 422
    near = await c.get(f"{API}/chargers", params={"latitude": 52.0907, "longitude": 5.1214})
    codes = [x["public_code"] for x in near.json()["data"]]
    assert codes[0] == "UTR01"  # nearest first; default radius 1 km
    assert "UTR08" not in codes


async def test_stats_name_routes_without_tokens(rig: PlugchoiceRig) -> None:
    token = (await start(rig.control)).json()["session_token"]
    await rig.control.get(f"{API}/sessions/{token}")
    stats = await rig.stats()
    assert stats[f"GET {API}/sessions/{{token}}"] == 1
    assert not any(token in key for key in stats)


async def test_seed_validates_its_input(rig: PlugchoiceRig) -> None:
    assert (await rig.post("/_control/seed", {"count": 0})).status_code == 422
    assert (await rig.post("/_control/seed", {"count": 1, "public_code": "X"})).status_code == 422
    assert (await rig.post("/_control/expire", {"token": "nope"})).status_code == 404


async def test_reset_forgets_sessions_and_limits(rig: PlugchoiceRig) -> None:
    token = (await start(rig.control)).json()["session_token"]
    await rig.post("/_control/charger", {"public_code": "UTR01", "online": False})
    assert (await rig.post("/_control/reset", {})).status_code == 200
    assert (await rig.control.get(f"{API}/sessions/{token}")).status_code == 404
    assert (await start(rig.control)).status_code == 201  # UTR01 is back online
