"""Persisted queries (Apollo APQ) against running servers: miss, register, hit over POST,
GET and the websocket; hash mismatches; a second replica on the same Redis; and the
production mode that runs registered operations only."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from bff.graphql.engine.operations_file import operation_documents, read_operations_file
from bff.store import keys
from tests.conftest import FAST_ENV
from tests.support import CONTRACT, GraphQLClient, Server, contract_operations

NEAR = {"near": {"latitude": 52.290056, "longitude": 20.907028}, "radiusMeters": 500}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fresh_query() -> str:
    """NearbyChargers under a hash no server has seen (a comment changes the text only)."""
    return f"# run {uuid.uuid4()}\n{contract_operations()['NearbyChargers']}"


def ext(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def post(client: GraphQLClient, body: dict[str, Any]) -> httpx.Response:
    return await client.http.post("/graphql", json=body, headers=client.headers())


async def get(client: GraphQLClient, params: dict[str, Any]) -> httpx.Response:
    # Apollo Client's default Accept; Strawberry would answer GraphiQL without our override.
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    headers = {**client.headers(), "accept": "*/*"}
    return await client.http.get("/graphql", params=query, headers=headers)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors") or []]


def chargers(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return [e["node"]["id"] for e in body["data"]["chargers"]["edges"]]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    r = aioredis.Redis.from_url(redis_url)
    yield r
    await r.aclose()


@pytest.fixture(scope="module")
def replica(redis_url: str) -> Iterator[Server]:
    """A second BFF process on the same Redis."""
    srv = Server(FAST_ENV)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def strict(redis_url: str) -> Iterator[Server]:
    """A production-like BFF: only the contract's operations run."""
    srv = Server(
        {
            **FAST_ENV,
            "BFF_PERSISTED_QUERIES_ONLY": "true",
            "BFF_PERSISTED_QUERIES_FILE": str(CONTRACT),
        }
    )
    srv.start()
    yield srv
    srv.stop()


async def test_miss_register_hit_over_post(client: GraphQLClient, store: aioredis.Redis) -> None:
    query = fresh_query()
    digest = sha(query)
    miss = await post(client, {"extensions": ext(digest), "variables": NEAR})
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]

    registered = await post(client, {"query": query, "extensions": ext(digest), "variables": NEAR})
    ids = chargers(registered)
    assert ids
    assert await store.get(keys.persisted_query(digest)) == query.encode()
    assert 0 < await store.ttl(keys.persisted_query(digest)) <= 7 * 24 * 3600

    hit = await post(client, {"extensions": ext(digest), "variables": NEAR})
    assert chargers(hit) == ids
    await store.delete(keys.persisted_query(digest))


async def test_miss_register_hit_over_get(client: GraphQLClient, store: aioredis.Redis) -> None:
    query = fresh_query()
    digest = sha(query)
    params = {"extensions": ext(digest), "variables": NEAR, "operationName": "NearbyChargers"}
    miss = await get(client, params)
    assert miss.status_code == 200 and miss.headers["content-type"].startswith("application/json")
    assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]

    ids = chargers(await get(client, {**params, "query": query}))
    assert await store.exists(keys.persisted_query(digest))
    assert chargers(await get(client, params)) == ids
    await store.delete(keys.persisted_query(digest))


async def test_hash_mismatch_is_refused_and_not_stored(
    client: GraphQLClient, store: aioredis.Redis
) -> None:
    query = fresh_query()
    wrong = sha(query + " ")
    r = await post(client, {"query": query, "extensions": ext(wrong), "variables": NEAR})
    assert r.status_code == 400
    assert codes(r) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert not await store.exists(keys.persisted_query(wrong)) and not await store.exists(keys.persisted_query(sha(query)))


async def test_a_query_that_does_not_validate_is_not_stored(
    client: GraphQLClient, store: aioredis.Redis
) -> None:
    query = f"# {uuid.uuid4()}\nquery Broken {{ chargers {{ nope }} }}"
    r = await post(client, {"query": query, "extensions": ext(sha(query))})
    assert set(codes(r)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert not await store.exists(keys.persisted_query(sha(query)))
    again = await post(client, {"extensions": ext(sha(query))})
    assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_bad_extension_is_refused(client: GraphQLClient) -> None:
    bad_version = {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}
    r = await post(client, {"extensions": bad_version})
    assert r.status_code == 400 and codes(r) == ["PERSISTED_QUERY_INVALID"]
    r = await post(client, {"extensions": ext("not-a-sha")})
    assert r.status_code == 400 and codes(r) == ["PERSISTED_QUERY_INVALID"]


async def test_a_persisted_mutation_is_refused_over_get(
    client: GraphQLClient, store: aioredis.Redis
) -> None:
    mutation = f"# {uuid.uuid4()}\n{contract_operations()['AbandonSession']}"
    digest = sha(mutation)
    variables = {"id": "no-such-session"}
    r = await post(client, {"query": mutation, "extensions": ext(digest), "variables": variables})
    assert r.status_code == 200, r.text
    assert await store.exists(keys.persisted_query(digest))
    refused = await get(client, {"extensions": ext(digest), "variables": variables})
    # 405, as GraphQL-over-HTTP requires for a mutation over GET, with a GraphQL error.
    assert refused.status_code == 405 and refused.headers["allow"] == "POST", refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    await store.delete(keys.persisted_query(digest))


async def test_another_replica_knows_a_registered_hash(
    client: GraphQLClient, replica: Server, store: aioredis.Redis
) -> None:
    query = fresh_query()
    digest = sha(query)
    ids = chargers(
        await post(client, {"query": query, "extensions": ext(digest), "variables": NEAR})
    )
    other = GraphQLClient(replica, client.token)
    try:
        assert chargers(await post(other, {"extensions": ext(digest), "variables": NEAR})) == ids
        assert chargers(await get(other, {"extensions": ext(digest), "variables": NEAR})) == ids
    finally:
        await other.aclose()
        await store.delete(keys.persisted_query(digest))


async def ws_run(server: Server, token: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One graphql-transport-ws operation to its end: the messages for it."""
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        out: list[dict[str, Any]] = []
        while not out or out[-1]["type"] not in ("complete", "error"):
            msg = json.loads(await ws.recv())
            if msg["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif msg.get("id") == "1":
                out.append(msg)
        return out


async def test_websocket_looks_hashes_up(client: GraphQLClient, store: aioredis.Redis) -> None:
    assert client.token is not None
    query = fresh_query()
    digest = sha(query)
    by_hash = {"extensions": ext(digest), "variables": NEAR}
    miss = await ws_run(client.server, client.token, by_hash)
    assert [m["type"] for m in miss] == ["error"]
    assert miss[0]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    ids = chargers(await post(client, {"query": query, **by_hash}))
    hit = await ws_run(client.server, client.token, by_hash)
    assert [m["type"] for m in hit] == ["next", "complete"]
    edges = hit[0]["payload"]["data"]["chargers"]["edges"]
    assert [e["node"]["id"] for e in edges] == ids
    await store.delete(keys.persisted_query(digest))


async def test_only_registered_operations_run_in_strict_mode(strict: Server, driver: str) -> None:
    client = GraphQLClient(strict, strict.token(driver))
    pinned = operation_documents(CONTRACT.read_text())
    nearby = pinned["NearbyChargers"]
    try:
        ids = chargers(await post(client, {"extensions": ext(sha(nearby)), "variables": NEAR}))
        assert ids
        assert chargers(await post(client, {"query": nearby, "variables": NEAR})) == ids
        assert chargers(await get(client, {"query": nearby, "variables": NEAR})) == ids

        other = fresh_query()
        refused = await post(client, {"query": other, "variables": NEAR})
        assert refused.status_code == 400 and codes(refused) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        # Apollo's link: the hash first (unknown), then the text, which is refused.
        miss = await post(client, {"extensions": ext(sha(other)), "variables": NEAR})
        assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
        retry = await post(
            client, {"query": other, "extensions": ext(sha(other)), "variables": NEAR}
        )
        assert retry.status_code == 400 and codes(retry) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        again = await post(client, {"extensions": ext(sha(other)), "variables": NEAR})
        assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"], "nothing was registered"

        token = client.token
        assert token is not None
        ws_refused = await ws_run(strict, token, {"query": other, "variables": NEAR})
        assert ws_refused[0]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        ws_ok = await ws_run(strict, token, {"extensions": ext(sha(nearby)), "variables": NEAR})
        assert [m["type"] for m in ws_ok] == ["next", "complete"]
    finally:
        await client.aclose()


def test_the_operations_file_gives_each_operation_with_its_fragments() -> None:
    docs = operation_documents(CONTRACT.read_text())
    assert {"NearbyChargers", "StartSession", "LiveSession", "MySessions"} <= set(docs)
    live = docs["LiveSession"]
    assert live.startswith("subscription LiveSession(")
    # SessionLive, and Money through it; not the charger card.
    assert "fragment SessionLive on" in live and "fragment Money on" in live
    assert "fragment ChargerCard" not in live
    assert read_operations_file(CONTRACT) == list(docs.values())


def test_an_apollo_manifest_is_read_and_checked(tmp_path: Any) -> None:
    body = "query A { __typename }"
    good = tmp_path / "ok.json"
    good.write_text(json.dumps({"operations": [{"id": sha(body), "name": "A", "body": body}]}))
    assert read_operations_file(good) == [body]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"operations": [{"id": sha("x"), "name": "A", "body": body}]}))
    with pytest.raises(ValueError, match="sha256"):
        read_operations_file(bad)
