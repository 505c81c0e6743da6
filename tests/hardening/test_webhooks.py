"""Hostile webhook deliveries against a running BFF on a Redis of its own: every
malformed, unsigned, forged, stale, replayed, oversized or mistyped delivery gets its 4xx,
and Redis shows nothing recorded and nothing published."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from bff.domain.model import Provider
from bff.providers.roaming.webhooks import sign_roaming_webhook
from bff.settings import Settings
from bff.store import keys
from bff.store.records import SessionRecord, SessionRecords
from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.redis_server import RedisServer
from tests.support import Server, wait_for

SETTINGS = Settings()
PS_AUTH = SETTINGS.plugsurfing_webhook_auth.get_secret_value()
SECRET = SETTINGS.roaming_webhook_secret.get_secret_value()
OTHER_SECRET = "whsec_" + "b3RoZXItc2VjcmV0LW9mLWFuLWF0dGFja2Vy"
JSON = {"content-type": "application/json"}
TOO_BIG = SETTINGS.webhook_max_bytes + 1


@dataclass
class Delivery:
    """One webhook to send and the status it must get."""

    name: str
    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    method: str = "POST"


def ps_body(**overrides: Any) -> bytes:
    payload = {"userId": "u-1", "sessionId": "s-1", "timestamp": "2026-03-30T08:00:00Z"}
    body: dict[str, Any] = {"event": "SESSION_STARTED", "payload": payload, **overrides}
    return json.dumps(body).encode()


def roaming_data(session_id: str = "r-1", **overrides: Any) -> dict[str, Any]:
    return {"session_id": session_id, "status": "active", "energy_kwh": 1.5, "cost": 0.5,
            "currency": "EUR", "duration_minutes": 10, "start_time": "2026-03-30T08:00:00Z",
            "updated_at": "2026-03-30T08:10:00Z", **overrides}


def roaming_body(data: dict[str, Any] | None = None, kind: str = "session.updated") -> bytes:
    return json.dumps({"type": kind, "data": data or roaming_data()}).encode()


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None,
           webhook_id: str | None = None, content_type: str | None = "application/json"
           ) -> dict[str, str]:
    headers = sign_roaming_webhook(secret, webhook_id or f"msg_{uuid.uuid4().hex}",
                                   int(at if at is not None else time.time()), body)
    return {**headers, **({"content-type": content_type} if content_type else {})}


def plugsurfing_deliveries() -> list[Delivery]:
    auth = {"authorization": PS_AUTH, **JSON}
    good = ps_body()
    return [
        Delivery("unsigned", 401, good, dict(JSON)),
        Delivery("wrong secret", 401, good, {**auth, "authorization": "sandbox-webhook-x"}),
        Delivery("empty secret", 401, good, {**auth, "authorization": ""}),
        Delivery("bearer prefix", 401, good, {**auth, "authorization": f"Bearer {PS_AUTH}"}),
        Delivery("truncated secret", 401, good, {**auth, "authorization": PS_AUTH[:-1]}),
        Delivery("upper-cased secret", 401, good, {**auth, "authorization": PS_AUTH.upper()}),
        Delivery("no content type", 415, good, {"authorization": PS_AUTH}),
        Delivery("text/plain", 415, good, {**auth, "content-type": "text/plain"}),
        Delivery("form", 415, b"event=SESSION_STARTED",
                 {**auth, "content-type": "application/x-www-form-urlencoded"}),
        Delivery("malformed JSON", 400, b'{"event": "SESSION_STARTED", ', auth),
        Delivery("empty body", 400, b"", auth),
        Delivery("JSON array", 400, b"[]", auth),
        Delivery("JSON null", 400, b"null", auth),
        Delivery("no payload", 400, json.dumps({"event": "SESSION_STARTED"}).encode(), auth),
        Delivery("no session id", 400, ps_body(payload={"userId": "u", "timestamp":
                                                        "2026-03-30T08:00:00Z"}), auth),
        Delivery("session id a number", 400, ps_body(payload={
            "userId": "u", "sessionId": 7, "timestamp": "2026-03-30T08:00:00Z"}), auth),
        Delivery("bad timestamp", 400, ps_body(payload={
            "userId": "u", "sessionId": "s", "timestamp": "yesterday"}), auth),
        Delivery("not UTF-8", 400, b'{"event": "\xff\xfe"}', auth),
        Delivery("deeply nested", 400, b"[" * 20_000 + b"]" * 20_000, auth),
        Delivery("oversized", 413, b" " * TOO_BIG + good, auth),
        Delivery("oversized, chunked", 413, b" " * TOO_BIG + good, auth, chunked=True),
        Delivery("GET", 405, None, auth, method="GET"),
    ]


def roaming_deliveries() -> list[Delivery]:
    body = roaming_body()
    now = time.time()
    sig = signed(body)
    return [
        Delivery("unsigned", 401, body, dict(JSON)),
        Delivery("no webhook-id", 401, body, {k: v for k, v in sig.items() if k != "webhook-id"}),
        Delivery("no timestamp", 401, body,
                 {k: v for k, v in sig.items() if k != "webhook-timestamp"}),
        Delivery("timestamp not a number", 401, body, {**sig, "webhook-timestamp": "soon"}),
        Delivery("forged (another secret)", 401, body, signed(body, secret=OTHER_SECRET)),
        Delivery("tampered body", 401, roaming_body(roaming_data(energy_kwh=99)), sig),
        Delivery("replayed under a new id", 401, body, {**sig, "webhook-id": "msg_new"}),
        Delivery("stale (replayed after 6 min)", 401, body, signed(body, at=now - 360)),
        Delivery("from the future", 401, body, signed(body, at=now + 360)),
        Delivery("v2 signature only", 401, body,
                 {**sig, "webhook-signature": sig["webhook-signature"].replace("v1,", "v2,")}),
        Delivery("signature not base64", 401, body, {**sig, "webhook-signature": "v1,!!!"}),
        Delivery("text/plain", 415, body, signed(body, content_type="text/plain")),
        Delivery("no content type", 415, body, signed(body, content_type=None)),
        Delivery("malformed JSON", 400, b'{"type": ', signed(b'{"type": ')),
        Delivery("empty body", 400, b"", signed(b"")),
        Delivery("unknown type", 400, roaming_body(kind="session.deleted"),
                 signed(roaming_body(kind="session.deleted"))),
        *[Delivery(f"bad {k}", 400, b, signed(b)) for k, b in (
            ("data", json.dumps({"type": "session.updated", "data": "x"}).encode()),
            ("session id", roaming_body(roaming_data(session_id=None))),
            ("updated_at", roaming_body(roaming_data(updated_at="later"))),
            ("currency", roaming_body(roaming_data(currency="EURO"))),
            ("energy", roaming_body(roaming_data(energy_kwh="lots"))),
            ("negative energy", roaming_body(roaming_data(energy_kwh=-5))),
        )],
        Delivery("oversized", 413, b" " * TOO_BIG + body, signed(b" " * TOO_BIG + body)),
        Delivery("oversized, chunked", 413, b" " * TOO_BIG + body,
                 signed(b" " * TOO_BIG + body), chunked=True),
        Delivery("GET", 405, None, sig, method="GET"),
    ]


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    r = RedisServer()
    r.start()
    yield r
    r.close()


@pytest.fixture(scope="module")
def hook_server(own_redis: RedisServer) -> Iterator[Server]:
    srv = Server({**FAST_ENV, "BFF_REDIS_URL": own_redis.url,
                  "BFF_POLL_INTERVAL_SECONDS": "3600"})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def rds(own_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    r = aioredis.Redis.from_url(own_redis.url)
    yield r
    await r.aclose()


class Publishes:
    """Counts every message published on ``ch:*`` while it runs."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.pubsub = redis.pubsub()
        self.messages: list[Any] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Publishes:
        await self.pubsub.psubscribe("ch:*")
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for msg in self.pubsub.listen():
            if msg["type"] == "pmessage":
                self.messages.append(msg)

    async def settle(self, probe: aioredis.Redis) -> None:
        """Wait until a marker published now has arrived: all earlier ones have too."""
        before = len(self.messages)
        await probe.publish("ch:marker", "x")
        await wait_for(lambda: asyncio.sleep(0, len(self.messages) > before), 5, 0.01,
                       "the marker message")
        self.messages = [m for m in self.messages if m["channel"] != b"ch:marker"]

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.pubsub.aclose()


async def keyspace(r: aioredis.Redis) -> dict[bytes, bytes | None]:
    return {k: await r.dump(k) async for k in r.scan_iter("*")}


async def send(http: httpx.AsyncClient, path: str, d: Delivery) -> httpx.Response:
    if d.method == "GET":
        return await http.get(path, headers=d.headers)
    content: Any = d.body
    if d.chunked:
        data = d.body or b""

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(data), 4096):
                yield data[i:i + 4096]

        content = chunks()
    return await http.post(path, content=content, headers=d.headers)


async def test_malformed_webhooks_get_4xx_and_change_nothing(
    hook_server: Server, rds: aioredis.Redis, figures: Figures
) -> None:
    await SessionRecords(rds).save(SessionRecord(
        provider=Provider.ROAMING, session_id="r-1", driver_id="d-1", charger_id="FI-VRT-E12345"))
    cases = {"plugsurfing": plugsurfing_deliveries(), "roaming": roaming_deliveries()}
    before = await keyspace(rds)
    wrong: list[str] = []
    async with Publishes(rds) as pubs, httpx.AsyncClient(base_url=hook_server.url,
                                                         timeout=30) as http:
        for provider, deliveries in cases.items():
            for d in deliveries:
                r = await send(http, f"/webhooks/{provider}", d)
                if r.status_code != d.status:
                    wrong.append(f"{provider} {d.name}: {r.status_code} {r.text[:100]}")
                elif d.method == "POST":
                    assert set(r.json()) == {"error"} and "Traceback" not in r.text
        await pubs.settle(rds)
        after = await keyspace(rds)
        changed = sorted(k.decode() for k in before.keys() | after.keys()
                         if before.get(k) != after.get(k))
        records = [k for k in changed if k.startswith(("snap:", "rec:"))]
        n = min(len(d) for d in cases.values())
        four = sum(1 for ds in cases.values() for d in ds) - len(wrong)
        figures(f"malformed webhooks: {n}+ per provider ({len(cases['plugsurfing'])} "
                f"plugsurfing, {len(cases['roaming'])} roaming), 4xx as expected: {four}, "
                f"records: {len(records)}, publishes: {len(pubs.messages)}")
        assert wrong == [], wrong
        assert changed == [] and pubs.messages == []

        # A good delivery is recorded and published once; replays of it (the same
        # webhook-id, as a sender's retry would be) are acknowledged and change nothing.
        body = roaming_body(roaming_data(updated_at=f"{time.strftime('%Y-%m-%d')}T00:00:01Z"))
        headers = signed(body, webhook_id="msg_once")
        r = await http.post("/webhooks/roaming", content=body, headers=headers)
        assert r.status_code == 200, r.text
        await pubs.settle(rds)
        snapshot = keys.snapshot(keys.session_key(Provider.ROAMING, "r-1"))
        assert await rds.exists(snapshot) and len(pubs.messages) >= 1
        recorded, published = await keyspace(rds), len(pubs.messages)
        for _ in range(3):
            again = await http.post("/webhooks/roaming", content=body, headers=headers)
            assert again.status_code == 200
        await pubs.settle(rds)
        assert await keyspace(rds) == recorded and len(pubs.messages) == published
    figures("replayed webhook (same webhook-id) x3: 200 (a sender's retry must succeed), "
            "records changed: 0, publishes: 0")


#: Signed and well-formed, with one value nobody can charge (issue 12 item 7), and the field
#: the 400 and its log line must name.
ABSURD_VALUES: dict[str, tuple[str, dict[str, Any]]] = {
    "cost 1e308": ("data.cost", {"cost": 1e308}),
    "cost 30 million EUR": ("data.cost", {"cost": 30_000_000}),
    "cost NaN": ("data.cost", {"cost": float("nan")}),
    "cost Infinity": ("data.cost", {"cost": float("inf")}),
    "cost negative": ("data.cost", {"cost": -0.5}),
    "energy 1e308 kWh": ("data.energy_kwh", {"energy_kwh": 1e308}),
    "energy NaN": ("data.energy_kwh", {"energy_kwh": float("nan")}),
    "energy negative": ("data.energy_kwh", {"energy_kwh": -1}),
    "duration 1e12 minutes": ("data.duration_minutes", {"duration_minutes": 10**12}),
    "start_time year 1 at +05:00": ("data.start_time",
                                    {"start_time": "0001-01-01T00:00:00+05:00"}),
    "updated_at in year 9999": ("data.updated_at", {"updated_at": "9999-12-31T23:59:59Z"}),
}


async def test_signed_absurd_values_are_400_and_change_nothing(
    hook_server: Server, rds: aioredis.Redis, figures: Figures
) -> None:
    await SessionRecords(rds).save(SessionRecord(
        provider=Provider.ROAMING, session_id="r-absurd", driver_id="d-1",
        charger_id="FI-VRT-E12345"))
    before = await keyspace(rds)
    answers: dict[str, str] = {}
    async with Publishes(rds) as pubs, httpx.AsyncClient(base_url=hook_server.url,
                                                         timeout=30) as http:
        for name, (field_, values) in ABSURD_VALUES.items():
            body = roaming_body(roaming_data("r-absurd", **values))
            r = await http.post("/webhooks/roaming", content=body, headers=signed(body))
            answers[name] = f"{r.status_code} {r.json().get('error')}"
            assert r.status_code == 400 and field_ in r.json()["error"], (name, r.text)
        await pubs.settle(rds)
        assert await keyspace(rds) == before and pubs.messages == []
    log = hook_server.log_path.read_text()
    rejections = [line for line in log.splitlines() if "rejected (400)" in line]
    for field_, _ in ABSURD_VALUES.values():
        assert any(field_ in line for line in rejections), f"no log line names {field_}"
    assert SECRET not in log and "Traceback" not in log
    figures(f"signed roaming webhooks with absurd values: {len(answers)} cases "
            f"(cost 1e308/30M EUR/NaN/Infinity/negative, energy 1e308/NaN/negative, "
            f"duration 1e12 min, start_time year 1, updated_at 9999), answered "
            f"{sorted({a.split()[0] for a in answers.values()})}, each naming its field; "
            "records: 0, publishes: 0")
