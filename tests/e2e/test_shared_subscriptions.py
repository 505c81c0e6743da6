"""Shared subscriptions against a running server (issue 7): sockets that asked for the
same thing get the same states, each once, newest only; a joiner gets the current state
first and its own ownership check; a history page needs no charger call for what the
sessions carry."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis

from bff import ids
from bff.domain.model import Provider
from bff.providers.roaming.webhooks import sign_roaming_webhook
from bff.settings import Settings
from bff.store.records import SessionRecord, SessionRecords
from tests.conftest import REDIS_URL
from tests.e2e.flows import sandbox
from tests.support import GraphQLClient, Server, WsSubscription, subscribe, upstream_calls

T0 = datetime.now(UTC).replace(microsecond=0)


def state(sid: str, kwh: float, at: datetime) -> dict[str, Any]:
    return {"session_id": sid, "status": "active", "energy_kwh": kwh, "cost": kwh * 0.4,
            "currency": "EUR", "duration_minutes": 10, "start_time": T0.isoformat(),
            "updated_at": at.isoformat()}  # fmt: skip


async def post(server: Server, data: dict[str, Any]) -> None:
    body = json.dumps({"type": "session.updated", "data": data}).encode()
    secret = Settings().roaming_webhook_secret.get_secret_value()
    headers = sign_roaming_webhook(secret, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{server.url}/webhooks/roaming", content=body,
                            headers={**headers, "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text


async def energy(sub: WsSubscription) -> int:
    payload = await sub.next(20)
    assert not payload.get("errors"), payload
    wh: int = payload["data"]["sessionUpdated"]["energy"]["wattHours"]
    return wh


async def test_many_sockets_one_session_each_state_once(server: Server, driver: str) -> None:
    sid = f"shared-{uuid.uuid4().hex[:10]}"
    rds = aioredis.Redis.from_url(REDIS_URL)
    try:
        await SessionRecords(rds).save(SessionRecord(
            provider=Provider.ROAMING, session_id=sid, driver_id=driver,
            charger_id="FI-VRT-E12345", connector_id="FI-VRT-E12345*1"))  # fmt: skip
    finally:
        await rds.aclose()
    await post(server, state(sid, 1.0, T0))
    gid = ids.encode(ids.SESSION, Provider.ROAMING, sid)
    query = GraphQLClient(server, None).ops["LiveSession"]
    token = server.token(driver)
    async with AsyncExitStack() as stack:
        subs = [await stack.enter_async_context(subscribe(server, token, query, {"id": gid}))
                for _ in range(8)]  # fmt: skip
        assert [await energy(s) for s in subs] == [1000] * 8, "the current state first"

        async with subscribe(server, server.token("someone-else"), query, {"id": gid}) as other:
            msg = json.loads(await other.ws.recv())
            errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "NOT_FOUND", "checked per subscriber"

        await post(server, state(sid, 2.0, T0 + timedelta(seconds=10)))
        assert [await energy(s) for s in subs] == [2000] * 8
        await post(server, state(sid, 1.5, T0 + timedelta(seconds=5)))  # late: older
        await post(server, state(sid, 3.0, T0 + timedelta(seconds=20)))
        assert [await energy(s) for s in subs] == [3000] * 8, "never the older one, no repeat"

        late = await stack.enter_async_context(subscribe(server, token, query, {"id": gid}))
        assert await energy(late) == 3000
        await post(server, state(sid, 4.0, T0 + timedelta(seconds=30)))
        assert [await energy(s) for s in [*subs, late]] == [4000] * 9


async def test_a_history_page_asks_no_charger_the_sessions_describe(
    server: Server, client: GraphQLClient, driver: str
) -> None:
    await sandbox(server, "plugsurfing", "/_control/seed", {"userId": driver, "count": 5})

    async def charger_calls(query: str) -> tuple[int, list[dict[str, Any]]]:
        with client.request_id(f"page-{uuid.uuid4()}") as rid:
            result = await client.execute(query)
        calls = await upstream_calls(server, "plugsurfing", rid)
        assert not result.get("errors"), result
        assert calls.get("total", 0) >= 1, f"the page's own calls not counted: {calls}"
        nodes = [e["node"] for e in result["data"]["viewer"]["sessions"]["edges"]]
        return calls.get("GET /drive/v1/evses", 0), nodes

    page = "{ viewer { sessions(first: 5) { edges { node { id charger { %s } } } } } }"
    calls, nodes = await charger_calls(page % "id name city")
    assert calls == 0 and len(nodes) == 5
    assert all(n["charger"]["name"] and n["charger"]["city"] for n in nodes)
    calls, loaded = await charger_calls(page % "id name city status")
    assert calls == 1, "a field the session does not carry loads the chargers, once"
    assert all(n["charger"]["status"] for n in loaded)
    assert [(n["charger"]["id"], n["charger"]["name"], n["charger"]["city"]) for n in nodes] == [
        (n["charger"]["id"], n["charger"]["name"], n["charger"]["city"]) for n in loaded
    ], "what the sessions say is what the provider says"
