"""Live session state over graphql-transport-ws against running servers (issue 5)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
import websockets

from bff.domain.model import SessionStatus
from bff.domain.reconcile import can_move
from bff.providers.roaming.webhooks import sign_roaming_webhook
from bff.settings import Settings
from tests.conftest import FAST_ENV
from tests.e2e.flows import HELSINKI, WARSAW, connector, detail, start, stop, wait_status
from tests.support import GraphQLClient, Server, subscribe, wait_for

#: The lifecycle's order as bff/domain/reconcile.py has it (written out here, so a change
#: to the domain's order is a failing test below, not a silently weaker oracle):
#: CHARGING, STOPPING and FAILED share a rank (they may swap), ABANDONED only from an
#: unpriced state, and nothing leaves ABANDONED.
RANK = {"STARTING": 0, "CHARGING": 1, "STOPPING": 1, "FAILED": 1, "STOPPED": 2,
        "COMPLETED": 3, "REFUNDED": 4}


def may_move(a: str, b: str) -> bool:
    if a == b:
        return True
    if a == "ABANDONED":
        return False
    if b == "ABANDONED":
        return a not in ("COMPLETED", "REFUNDED")
    return RANK[b] >= RANK[a]


def assert_never_backwards(states: list[dict[str, Any]]) -> None:
    for a, b in itertools.pairwise(states):
        assert a != b, f"duplicate delivery: {a}"
        assert b["updatedAt"] >= a["updatedAt"], f"older after newer: {a} -> {b}"
        assert may_move(a["status"], b["status"]), f"backwards: {a} -> {b}"


def test_the_oracle_is_the_domain_order() -> None:
    for a, b in itertools.product(SessionStatus, repeat=2):
        assert may_move(a.value, b.value) == can_move(a, b), (a, b)


@pytest.mark.parametrize(("a", "b"), [("COMPLETED", "CHARGING"), ("ABANDONED", "CHARGING"),
                                      ("STOPPING", "STARTING"), ("STOPPED", "STOPPING")])
def test_the_oracle_refuses_a_move_backwards(a: str, b: str) -> None:
    states = [{"status": a, "updatedAt": "2026-01-01T00:00:00Z"},
              {"status": b, "updatedAt": "2026-01-01T00:00:01Z"}]
    with pytest.raises(AssertionError, match="backwards"):
        assert_never_backwards(states)


async def follow(sub: Any, until: str, timeout: float = 40.0) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not states or states[-1]["status"] != until:
        payload = await sub.next(max(0.1, deadline - time.monotonic()))
        assert not payload.get("errors"), payload
        states.append(payload["data"]["sessionUpdated"])
    return states


async def test_live_session_from_start_to_completed(live_server: Server,
                                                    live_client: GraphQLClient) -> None:
    server, client = live_server, live_client
    started = await start(client, await connector(client, WARSAW, skip=9))
    sid = started["session"]["id"]
    async with subscribe(server, client.token, client.ops["LiveSession"], {"id": sid},
                         "LiveSession") as sub:
        first = (await sub.next())["data"]["sessionUpdated"]
        assert first["id"] == sid and first["status"] in ("STARTING", "CHARGING")
        charging: list[dict[str, Any]] = [first]

        async def energy_rose() -> bool:
            payload = await sub.next()
            charging.append(payload["data"]["sessionUpdated"])
            wh = [(s["energy"] or {}).get("wattHours", 0) for s in charging
                  if s["status"] == "CHARGING"]
            return len(wh) >= 2 and wh[-1] > wh[0]

        await wait_for(energy_rose, 30, 0, "energy to rise on the subscription")
        await client.data("StopSession", id=sid)
        rest = await follow(sub, "COMPLETED")
    states = charging + rest
    assert_never_backwards(states)
    seen = [s["status"] for s in states]
    assert seen[0] in ("STARTING", "CHARGING") and "CHARGING" in seen and seen[-1] == "COMPLETED"
    assert states[-1]["cost"]["total"]["amountMinor"] > 0 and not states[-1]["cost"]["estimated"]
    assert any(s["powerKw"] for s in states if s["status"] == "CHARGING")
    assert sub.pings >= 1, "the server pings idle sockets"


async def test_my_sessions_sees_every_session_of_the_driver(live_server: Server,
                                                            live_client: GraphQLClient) -> None:
    server, client = live_server, live_client
    async with subscribe(server, client.token, client.ops["MySessions"], None,
                         "MySessions") as sub:
        a = await start(client, await connector(client, WARSAW, skip=10))
        b = await start(client, await connector(client, HELSINKI, evse="FI-VRT-E12346"))
        wanted = {a["session"]["id"], b["session"]["id"]}
        seen: set[str] = set()

        async def both() -> bool:
            s = (await sub.next())["data"]["viewerSessionsUpdated"]
            seen.add(s["id"])
            assert s["charger"] is None or s["charger"]["name"]
            return wanted <= seen

        await wait_for(both, 30, 0, "updates of both sessions")
    for s in (a, b):
        await stop(client, s["session"]["id"])


async def test_cannot_watch_another_drivers_session(server: Server,
                                                    client: GraphQLClient) -> None:
    sid = (await start(client, await connector(client, WARSAW, skip=11)))["session"]["id"]
    other = server.token("watcher")
    url = server.url.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {other}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": client.ops["LiveSession"], "variables": {"id": sid}}}))
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert msg["type"] in ("error", "next")
    errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    await stop(client, sid)


async def test_socket_without_a_valid_token_is_refused(server: Server) -> None:
    url = server.url.replace("http", "ws") + "/graphql"
    for payload in ({}, {"authorization": "Bearer nonsense"}):
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_token_expiry_closes_the_socket_with_a_retryable_code(server: Server) -> None:
    from bff.auth import DriverAuth

    token = DriverAuth(Settings()).issue("short-lived", ttl_seconds=2)
    url = server.url.replace("http", "ws") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            for _ in range(20):
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def post_roaming(server: Server, data: dict[str, Any], webhook_id: str | None = None
                       ) -> httpx.Response:
    body = json.dumps({"type": "session.updated", "data": data}).encode()
    secret = Settings().roaming_webhook_secret.get_secret_value()
    headers = sign_roaming_webhook(secret, webhook_id or f"msg_{uuid.uuid4().hex}",
                                   int(time.time()), body)
    async with httpx.AsyncClient() as http:
        return await http.post(f"{server.url}/webhooks/roaming", content=body,
                               headers={**headers, "content-type": "application/json"})


async def test_late_and_duplicate_webhooks_never_show_an_older_state(
    live_server: Server, live_client: GraphQLClient
) -> None:
    server, client = live_server, live_client
    started = await start(client, await connector(client, HELSINKI, evse="FI-VRT-E20001"))
    sid = started["session"]["id"]
    node = await wait_status(client, sid, "CHARGING")
    provider_id = node["providerSessionId"]
    async with subscribe(server, client.token, client.ops["LiveSession"], {"id": sid},
                         "LiveSession") as sub:
        current = (await sub.next())["data"]["sessionUpdated"]
        old = {"session_id": provider_id, "status": "pending", "energy_kwh": 0.0, "cost": 0,
               "currency": "EUR", "duration_minutes": 0,
               "start_time": "2026-01-01T00:00:00Z",
               "updated_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
        r = await post_roaming(server, old)
        assert r.status_code == 200, r.text
        assert (await post_roaming(server, old, "msg_dup")).status_code == 200
        assert (await post_roaming(server, old, "msg_dup")).status_code == 200
        await client.data("StopSession", id=sid)
        states = [current, *await follow(sub, "COMPLETED")]
    assert_never_backwards(states)
    assert all(s["status"] != "STARTING" for s in states[1:])


async def test_chaotic_webhooks_still_end_completed(redis_url: str) -> None:
    # Its own Redis database: the pollers' shared request budget must not be spent on the
    # other servers' sessions, since with chaos the pollers carry most updates.
    own = redis_url.rsplit("/", 1)[0] + "/14"
    sync = redis.Redis.from_url(own)
    sync.flushdb()
    sync.close()
    srv = Server({**FAST_ENV, "BFF_SANDBOX_CHAOS": "0.9", "BFF_REDIS_URL": own})
    srv.start()
    c = GraphQLClient(srv, srv.token(f"chaos-{uuid.uuid4().hex[:6]}"))
    try:
        sid = (await start(c, await connector(c, WARSAW)))["session"]["id"]
        async with subscribe(srv, c.token, c.ops["LiveSession"], {"id": sid},
                             "LiveSession") as sub:
            states = [(await sub.next())["data"]["sessionUpdated"]]
            await wait_status(c, sid, "CHARGING")
            await c.data("StopSession", id=sid)
            if states[-1]["status"] != "COMPLETED":
                states += await follow(sub, "COMPLETED", timeout=60)
        assert_never_backwards(states)
        assert (await detail(c, sid))["status"] == "COMPLETED"
    finally:
        await c.aclose()
        srv.stop()


async def test_webhook_on_one_replica_reaches_a_subscriber_on_another(
    live_env: dict[str, str],
) -> None:
    quiet = {**live_env, "BFF_POLL_INTERVAL_SECONDS": "3600",
             "BFF_QUIET_POLL_AFTER_SECONDS": "3600"}
    a = Server(quiet)
    a.start()
    b = Server({**quiet, "BFF_SANDBOX_URL": f"{a.url}/_sandbox"})
    b.start()
    driver = f"replica-{uuid.uuid4().hex[:6]}"
    ca, cb = GraphQLClient(a, a.token(driver)), GraphQLClient(b, b.token(driver))
    try:
        sid = (await start(cb, await connector(cb, WARSAW, skip=1)))["session"]["id"]
        async with subscribe(b, cb.token, cb.ops["LiveSession"], {"id": sid},
                             "LiveSession") as sub:
            # The sandbox (hosted by A) posts its webhooks to A only; B never polls.
            states = await follow(sub, "CHARGING")
            await cb.data("StopSession", id=sid)
            states += await follow(sub, "COMPLETED")
        assert_never_backwards(states)
    finally:
        await ca.aclose()
        await cb.aclose()
        b.stop()
        a.stop()
