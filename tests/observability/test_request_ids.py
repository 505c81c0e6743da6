"""Request ids: echoed, on the server's JSON log lines, and forwarded to providers."""

from __future__ import annotations

import uuid
from typing import Any

import websockets

from tests.e2e.flows import WARSAW
from tests.observability.scrape import log_lines
from tests.support import GraphQLClient, Server, upstream_calls, wait_for


async def test_an_incoming_request_id_is_echoed_logged_and_forwarded(
    client: GraphQLClient, server: Server
) -> None:
    rid = f"obs-{uuid.uuid4()}"
    body = {
        "query": client.ops["NearbyChargers"],
        "variables": {"near": WARSAW, "radiusMeters": 500},
    }
    r = await client.http.post(
        "/graphql", json=body, headers={**client.headers(), "x-request-id": rid}
    )
    assert r.status_code == 200 and r.json()["data"]["chargers"]["edges"]
    assert r.headers["x-request-id"] == rid

    async def logged() -> list[dict[str, Any]] | None:
        mine = [x for x in log_lines(server) if x.get("request_id") == rid]
        ours = any("POST /graphql" in x["msg"] for x in mine)
        upstream = any("/_sandbox/plugsurfing/" in x["msg"] for x in mine)
        return mine if ours and upstream else None

    lines = await wait_for(logged, 10, what=f"log lines with request_id {rid}")
    # The sandbox runs behind the BFF's own middleware, which adopted the forwarded id.
    assert any(x["logger"] == "uvicorn.access" and "/_sandbox/" in x["msg"] for x in lines)
    # Counted by its own id: calls of other tests, with or without ids, do not count.
    mine = await upstream_calls(server, "plugsurfing", rid)
    assert mine.get("POST /drive/v1/geosearch/radius", 0) >= 1, mine


async def test_an_unacceptable_request_id_is_replaced(
    client: GraphQLClient, server: Server
) -> None:
    # Too long, and unique: the server's log is shared with every other test.
    long = f"rid-{uuid.uuid4().hex}-" * 4
    assert len(long) > 128
    bad_ids: list[bytes] = [long.encode(), b"caf\xe9-id", b"tab\there", b""]
    for bad in bad_ids:
        r = await client.http.get("/healthz", headers=[(b"x-request-id", bad)])
        assert r.status_code == 200
        assert uuid.UUID(r.headers["x-request-id"]).version == 4
    assert long not in server.log_path.read_text()


async def test_each_request_gets_its_own_id(client: GraphQLClient) -> None:
    a = (await client.http.get("/healthz")).headers["x-request-id"]
    b = (await client.http.get("/healthz")).headers["x-request-id"]
    assert a != b and uuid.UUID(a) and uuid.UUID(b)


async def test_the_websocket_handshake_answers_the_id(server: Server) -> None:
    rid = f"ws-{uuid.uuid4()}"
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers={"x-request-id": rid},
    ) as ws:
        assert ws.response is not None
        assert ws.response.headers["x-request-id"] == rid
