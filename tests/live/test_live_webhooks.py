"""The webhook routes on a small Starlette app, with the providers' real parsers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from bff.domain.model import Energy, Provider
from bff.domain.model import SessionStatus as S
from bff.errors import ProviderUnavailable
from bff.live.hub import LiveHub
from bff.live.routes import webhook_routes
from bff.providers.roaming.webhooks import sign_roaming_webhook
from bff.settings import Settings
from bff.store.keys import EPOCH as EPOCH_KEY
from bff.store.records import SessionRecord, SessionRecords
from tests.live.conftest import LIVE_REDIS_URL
from tests.live.support import FakeAdapter, session

AUTH = "test-webhook-auth"
SECRET = "whsec_dGVzdC1yb2FtaW5nLXNlY3JldA=="


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter(Provider.PLUGSURFING)


@pytest.fixture
async def hub(rds: Redis, adapter: FakeAdapter) -> AsyncIterator[LiveHub]:
    settings = Settings(
        redis_url=LIVE_REDIS_URL,
        plugsurfing_webhook_auth=AUTH,
        roaming_webhook_secret=SECRET,
        webhook_max_bytes=2048,
        poll_interval_seconds=60,
    )
    h = LiveHub(settings, rds, SessionRecords(rds),
                {Provider.PLUGSURFING: adapter, Provider.ROAMING: FakeAdapter(Provider.ROAMING)})
    await h.start()
    await h.redis_loss.check()  # the epoch marker is written before the test counts keys
    yield h
    await h.aclose()


@pytest.fixture
async def http(hub: LiveHub) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=webhook_routes(lambda request: hub))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bff") as c:
        yield c


def plugsurfing_body(event: str = "SESSION_STARTED", session_id: str = "s1") -> bytes:
    payload = {
        "userId": "d1",
        "sessionId": session_id,
        "timestamp": "2026-03-30T08:00:00.123456789Z",
    }
    return json.dumps({"event": event, "payload": payload}).encode()


def roaming_body(status: str = "active", energy: float = 1.5, updated: str = "08:10") -> bytes:
    data = {
        "session_id": "r1",
        "status": status,
        "energy_kwh": energy,
        "cost": 0.5,
        "currency": "EUR",
        "duration_minutes": 10,
        "start_time": "2026-03-30T08:00:00Z",
        "updated_at": f"2026-03-30T{updated}:00Z",
    }
    return json.dumps({"type": "session.updated", "data": data}).encode()


def signed(body: bytes, webhook_id: str | None = None, secret: str = SECRET) -> dict[str, str]:
    wid = webhook_id or f"msg_{uuid.uuid4().hex}"
    return {
        **sign_roaming_webhook(secret, wid, int(time.time()), body),
        "content-type": "application/json",
    }


PS_HEADERS = {"authorization": AUTH, "content-type": "application/json"}


async def test_plugsurfing_prompt_is_recorded_before_the_answer(
    http: httpx.AsyncClient, hub: LiveHub, adapter: FakeAdapter
) -> None:
    adapter.put("d1", session(S.CHARGING, 10, wh=500))
    r = await http.post("/webhooks/plugsurfing", content=plugsurfing_body(), headers=PS_HEADERS)
    assert (r.status_code, r.json()) == (200, {"ok": True})
    snap = await hub.snapshot(Provider.PLUGSURFING, "s1")
    assert snap is not None and snap.energy == Energy(500)


async def test_plugsurfing_unknown_event_is_acknowledged_and_refetched(
    http: httpx.AsyncClient, adapter: FakeAdapter
) -> None:
    r = await http.post(
        "/webhooks/plugsurfing", content=plugsurfing_body("SESSION_NEW_THING"), headers=PS_HEADERS
    )
    assert r.status_code == 200
    assert [c.session_id for c in adapter.calls] == ["s1"]


async def test_plugsurfing_provider_down_leaves_it_to_the_pollers(
    http: httpx.AsyncClient, hub: LiveHub, adapter: FakeAdapter
) -> None:
    adapter.fail = ProviderUnavailable("PLUGSURFING", "down")
    r = await http.post("/webhooks/plugsurfing", content=plugsurfing_body(), headers=PS_HEADERS)
    assert r.status_code == 200
    assert await hub.store.live_sessions(Provider.PLUGSURFING, quiet_for=1) == [("s1", 0.0)]
    assert await hub.store.owner(Provider.PLUGSURFING, "s1") == "d1"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"content-type": "application/json"}, plugsurfing_body(), 401),
        ({**PS_HEADERS, "authorization": "wrong"}, plugsurfing_body(), 401),
        (PS_HEADERS, b"{not json", 400),
        (PS_HEADERS, b'{"event": "SESSION_STARTED"}', 400),
        (PS_HEADERS, b"x" * 5000, 413),
    ],
)
async def test_plugsurfing_rejections_change_nothing(
    http: httpx.AsyncClient,
    hub: LiveHub,
    adapter: FakeAdapter,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    r = await http.post("/webhooks/plugsurfing", content=body, headers=headers)
    assert r.status_code == status
    assert "error" in r.json()
    assert adapter.calls == []
    assert await hub.redis.keys() == [EPOCH_KEY.encode()]


async def test_roaming_update_is_recorded_and_replays_change_nothing(
    http: httpx.AsyncClient, hub: LiveHub
) -> None:
    await hub.records.save(
        SessionRecord(provider=Provider.ROAMING, session_id="r1", driver_id="d1")
    )
    async with hub.watch_driver("d1") as updates:
        body = roaming_body()
        headers = signed(body, "msg_1")
        r = await http.post("/webhooks/roaming", content=body, headers=headers)
        assert r.status_code == 200
        snap = await hub.snapshot(Provider.ROAMING, "r1")
        assert snap is not None and (snap.status, snap.energy) == (S.CHARGING, Energy(1500))
        first = (await anext(updates)).session
        assert first.energy == Energy(1500)
        # The same webhook-id again, even with a newer body correctly signed: a replay.
        newer = roaming_body("completed", 2.0, "08:20")
        r = await http.post("/webhooks/roaming", content=newer, headers=signed(newer, "msg_1"))
        assert r.status_code == 200
        assert await hub.snapshot(Provider.ROAMING, "r1") == snap
        # A new id goes through, and it is the next (not the replay) a subscriber sees.
        r = await http.post("/webhooks/roaming", content=newer, headers=signed(newer, "msg_2"))
        assert r.status_code == 200
        nxt = (await anext(updates)).session
        assert nxt.status is S.COMPLETED


async def test_roaming_unknown_session_is_acknowledged_and_ignored(
    http: httpx.AsyncClient, hub: LiveHub
) -> None:
    body = roaming_body()
    r = await http.post("/webhooks/roaming", content=body, headers=signed(body))
    assert r.status_code == 200
    assert await hub.snapshot(Provider.ROAMING, "r1") is None


@pytest.mark.parametrize("case", ["unsigned", "bad-signature", "stale", "malformed", "too-large"])
async def test_roaming_rejections(http: httpx.AsyncClient, hub: LiveHub, case: str) -> None:
    await hub.records.save(
        SessionRecord(provider=Provider.ROAMING, session_id="r1", driver_id="d1")
    )
    before = await hub.redis.dbsize()
    body = roaming_body()
    headers = signed(body)
    status = 401
    if case == "unsigned":
        headers = {"content-type": "application/json"}
    elif case == "bad-signature":
        headers = signed(body, secret="whsec_b3RoZXItc2VjcmV0")
    elif case == "stale":
        old = int(time.time()) - 3600
        headers = {
            **sign_roaming_webhook(SECRET, "msg_old", old, body),
            "content-type": "application/json",
        }
    elif case == "malformed":
        body = b'{"type": "session.updated", "data": {"status": 1}}'
        headers, status = signed(body), 400
    else:
        body = roaming_body() + b" " * 4096
        headers, status = signed(body), 413
    r = await http.post("/webhooks/roaming", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert await hub.redis.dbsize() == before  # no snapshot, no seen-id


async def test_redis_down_answers_503(rds: Redis) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    settings = Settings(redis_url=LIVE_REDIS_URL, roaming_webhook_secret=SECRET)
    # Never started: no broker needed.
    hub = LiveHub(settings, dead, SessionRecords(dead), {Provider.ROAMING: FakeAdapter(Provider.ROAMING)})
    app = Starlette(routes=webhook_routes(lambda request: hub))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bff") as c:
        body = roaming_body()
        r = await c.post("/webhooks/roaming", content=body, headers=signed(body))
    assert r.status_code == 503
    assert r.json() == {"error": "temporarily unavailable"}
    await dead.aclose()
