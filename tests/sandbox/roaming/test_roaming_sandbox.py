"""The roaming sandbox itself: auth, signed webhooks, control routes, documented answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from bff.domain.model import SessionRef, SessionStatus
from tests.providers.roaming.roaming_support import SPEED, Rig, eventually

EVSE = "FI-VRT-E12345"


def bearer(rig: Rig, sub: str = "driver-1", **claims: Any) -> dict[str, str]:
    now = datetime.now(UTC)
    token = jwt.encode(
        {"sub": sub, "exp": now + timedelta(minutes=5), **claims},
        rig.sandbox.config.roaming_jwt_secret,
        algorithm="HS256",
    )
    return {"authorization": f"Bearer {token}"}


async def start(rig: Rig, evse: str = EVSE, **body: Any) -> dict[str, Any]:
    r = await rig.control.post(
        "/v1/sessions/start",
        json={"evse_id": evse, "connector_type": "CCS", **body},
        headers=bearer(rig),
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_start_answers_as_documented(rig: Rig) -> None:
    answer = await start(rig, battery_target_kwh=60.0)
    assert set(answer) == {"session_id", "status", "evse_id", "network"}
    assert (answer["status"], answer["evse_id"], answer["network"]) == ("pending", EVSE, "Virta")


async def test_status_object_has_the_documented_fields(rig: Rig) -> None:
    sid = (await start(rig))["session_id"]
    r = await rig.control.get(f"/v1/sessions/{sid}/status", headers=bearer(rig))
    assert set(r.json()) == {
        "session_id", "status", "energy_kwh", "cost", "currency", "duration_minutes", "start_time"
    }  # fmt: skip


async def test_requests_need_a_valid_user_jwt(rig: Rig) -> None:
    expired = bearer(rig, exp=datetime.now(UTC) - timedelta(seconds=60))
    forged = {
        "authorization": "Bearer "
        + jwt.encode({"sub": "driver-1", "exp": 4102444800}, "x" * 32, algorithm="HS256")
    }
    no_sub = {
        "authorization": "Bearer "
        + jwt.encode({"exp": 4102444800}, rig.sandbox.config.roaming_jwt_secret, algorithm="HS256")
    }
    for headers in ({}, {"authorization": "Basic abc"}, expired, forged, no_sub):
        r = await rig.control.get("/v1/evses?latitude=60.17&longitude=24.94", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


async def test_bad_requests(rig: Rig) -> None:
    h = bearer(rig)
    start, stop = "/v1/sessions/start", "/v1/sessions/stop"
    ghost = {"evse_id": "FI-VRT-E00000", "connector_type": "CCS"}
    cases: list[tuple[str, str, bytes, int, str]] = [
        ("POST", start, b"{", 400, "invalid_request"),
        ("POST", start, _json(ghost), 404, "evse_not_found"),
        ("POST", start, _json(evse_id=EVSE, connector_type="TYPE2"), 422, "unknown_connector_type"),
        ("POST", start, _json(evse_id=EVSE, connector_type="CCS", battery_target_kwh=-1), 400,
         "invalid_request"),
        ("POST", stop, _json(session_id="nope"), 404, "session_not_found"),
        ("GET", "/v1/evses?latitude=abc&longitude=1", b"", 400, "invalid_request"),
    ]  # fmt: skip
    for method, path, content, status, code in cases:
        r = await rig.control.request(method, path, content=content, headers=h)
        assert (r.status_code, r.json()["error"]) == (status, code), path


async def test_profile_validation(rig: Rig) -> None:
    sid = (await start(rig))["session_id"]
    url = f"/v1/sessions/{sid}/charging-profile"
    for body in ({}, {"periods": [{"start_period": 60, "limit": 7400}]}):
        r = await rig.control.post(url, json=body, headers=bearer(rig))
        assert (r.status_code, r.json()["error"]) == (422, "invalid_profile")
    r = await rig.control.post(
        url,
        json={"max_charge_rate_kw": 11.0, "departure_time": "2026-03-30T18:00:00Z"},
        headers=bearer(rig),
    )
    assert r.json() == {
        "session_id": sid,
        "profile_set": True,
        "max_charge_rate_kw": 11.0,
        "departure_time": "2026-03-30T18:00:00Z",
        "periods": [{"start_period": 0, "limit": 11000}],
    }
    r = await rig.control.delete(url, headers=bearer(rig))
    assert r.json() == {"session_id": sid, "profile_cleared": True}


async def test_signed_webhook_at_each_status_change(rig: Rig) -> None:
    sid = (await start(rig))["session_id"]
    await eventually(lambda: _words(rig, sid), lambda w: w == ["pending", "active"])
    r = await rig.control.post("/v1/sessions/stop", json={"session_id": sid}, headers=bearer(rig))
    assert r.json() == {"session_id": sid, "status": "stopping"}
    await eventually(
        lambda: _words(rig, sid), lambda w: w == ["pending", "active", "stopping", "completed"]
    )
    assert rig.inbox.rejected == []
    hooks = [h for h in rig.inbox.received if h.session.id == sid]
    times = [h.session.observed_at for h in hooks]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len({h.webhook_id for h in hooks}) == len(hooks)
    assert [h.session.status for h in hooks] == [
        SessionStatus.STARTING,
        SessionStatus.CHARGING,
        SessionStatus.STOPPING,
        SessionStatus.COMPLETED,
    ]
    completed = hooks[-1].session
    assert completed.cost is not None and not completed.cost.estimated
    receipt = await rig.adapter.get_receipt(SessionRef("driver-1", sid))
    assert receipt.cost == completed.cost


async def test_stopping_takes_about_three_simulated_seconds(rig: Rig) -> None:
    sid = (await start(rig))["session_id"]
    await eventually(lambda: _words(rig, sid), lambda w: "active" in w)
    await rig.control.post("/v1/sessions/stop", json={"session_id": sid}, headers=bearer(rig))
    state = await eventually(lambda: _raw(rig, sid), lambda r: r["status"] == "completed")
    at = {h["status"]: datetime.fromisoformat(h["at"]) for h in state["history"]}
    pending_s = (at["active"] - at["pending"]).total_seconds() * SPEED
    stopping_s = (at["completed"] - at["stopping"]).total_seconds() * SPEED
    assert abs(pending_s - 3.0) < 0.01 and abs(stopping_s - 3.0) < 0.01


async def test_stop_is_idempotent_while_stopping(rig: Rig) -> None:
    sid = (await start(rig))["session_id"]
    stop = {"session_id": sid}
    first = await rig.control.post("/v1/sessions/stop", json=stop, headers=bearer(rig))
    second = await rig.control.post("/v1/sessions/stop", json=stop, headers=bearer(rig))
    assert first.json()["status"] == second.json()["status"] == "stopping"
    assert [h["status"] for h in (await _raw(rig, sid))["history"]] == ["pending", "stopping"]


async def test_seed_creates_completed_sessions_for_one_user(rig: Rig) -> None:
    r = await rig.control.post("/_control/seed", json={"user": "driver-9", "count": 3})
    ids = r.json()["session_ids"]
    assert len(ids) == 3 and [s["session_id"] for s in r.json()["sessions"]] == ids
    for sid in ids:
        mine = await rig.adapter.get_session(SessionRef("driver-9", sid))
        assert mine is not None and mine.status is SessionStatus.COMPLETED
        assert mine.energy is not None and mine.energy.watt_hours > 0
        assert mine.started_at is not None and mine.started_at < datetime.now(UTC)
        assert (await rig.adapter.get_receipt(SessionRef("driver-9", sid))).available
        assert await rig.adapter.get_session(SessionRef("driver-1", sid)) is None
    starts = [s["start_time"] for s in r.json()["sessions"]]
    assert starts == sorted(starts, reverse=True)


async def test_control_reset_forgets_sessions(rig: Rig) -> None:
    sid = (await start(rig))["session_id"]
    await rig.control.post("/_control/reset")
    assert (await rig.control.get(f"/_control/sessions/{sid}")).status_code == 404
    await start(rig)  # the EVSE is free again


async def test_no_webhooks_without_a_base_url(rig: Rig) -> None:
    rig.sandbox.config.webhook_base_url = None
    sid = (await start(rig))["session_id"]
    await eventually(lambda: _raw(rig, sid), lambda r: r["status"] == "active")
    assert rig.inbox.received == []


def _json(body: dict[str, Any] | None = None, **fields: Any) -> bytes:
    return json.dumps({**(body or {}), **fields}).encode()


async def _words(rig: Rig, sid: str) -> list[str]:
    return rig.inbox.words(sid)


async def _raw(rig: Rig, sid: str) -> dict[str, Any]:
    body: dict[str, Any] = (await rig.control.get(f"/_control/sessions/{sid}")).json()
    return body


async def test_seed_live_creates_charging_sessions_without_webhooks(rig: Rig) -> None:
    # For the poll benchmark: more live sessions than EVSEs, each charging.
    r = await rig.control.post("/_control/seed", json={"user": "driver-9", "count": 12,
                                                       "live": True})
    ids = r.json()["session_ids"]
    assert len(ids) == 12
    first = [await rig.adapter.get_session(SessionRef("driver-9", sid)) for sid in ids]
    assert all(s is not None and s.status is SessionStatus.CHARGING for s in first)
    later = await eventually(
        lambda: rig.adapter.get_session(SessionRef("driver-9", ids[0])),
        lambda s: s is not None and s.energy is not None and s.energy.watt_hours > 0,
    )
    assert later is not None and rig.inbox.received == []
