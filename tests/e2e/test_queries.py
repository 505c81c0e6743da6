"""The contract's query operations against a running server and the sandboxes over HTTP."""

from __future__ import annotations

import uuid
from itertools import pairwise
from typing import Any

import httpx

from tests.conftest import FAST_ENV
from tests.support import GraphQLClient, Server, upstream_calls

WARSAW = {"latitude": 52.290056, "longitude": 20.907028}
ERRORS = {"latitude": 52.334242, "longitude": 20.899305}
UTRECHT = {"latitude": 52.0907, "longitude": 5.1214}
HELSINKI = {"latitude": 60.1699, "longitude": 24.9384}


async def sandbox(server: Server, provider: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=f"{server.url}/_sandbox/{provider}") as http:
        r = await (http.post(path, json=body) if body is not None else http.get(path))
        r.raise_for_status()
        return r.json()


async def test_nearby_chargers_at_the_stage_location(client: GraphQLClient) -> None:
    data = await client.data("NearbyChargers", near=WARSAW, radiusMeters=500, first=50)
    nodes = [e["node"] for e in data["chargers"]["edges"]]
    assert nodes, "the stage location has chargers"
    assert {n["provider"] for n in nodes} == {"PLUGSURFING"}
    distances = [n["distanceMeters"] for n in nodes]
    assert distances == sorted(distances) and max(distances) <= 500
    first = nodes[0]
    assert first["connectors"] and first["connectors"][0]["powerKw"] > 0
    assert first["location"]["latitude"] and first["evseId"]
    assert any(not n["remoteStartStop"] for n in nodes), "a charger without remote start"


async def test_error_location_has_the_four_documented_evses(client: GraphQLClient) -> None:
    data = await client.data("NearbyChargers", near=ERRORS, radiusMeters=300, first=50)
    evses = {e["node"]["evseId"] for e in data["chargers"]["edges"]}
    assert {"DE*DRV*E6mayTt", "DE*DRV*E4JanRe", "DE*DRV*E9svnVs", "DE*DRV*E8vsnVn"} <= evses


async def test_each_provider_answers_around_its_fixture_point(client: GraphQLClient) -> None:
    for point, provider in ((UTRECHT, "PLUGCHOICE"), (HELSINKI, "ROAMING")):
        data = await client.data("NearbyChargers", near=point, radiusMeters=2000, first=50)
        providers = {e["node"]["provider"] for e in data["chargers"]["edges"]}
        assert providers == {provider}
    data = await client.data("NearbyChargers", near=HELSINKI, radiusMeters=2000, first=50)
    evses = {e["node"]["evseId"] for e in data["chargers"]["edges"]}
    assert "FI-VRT-E12345" in evses


async def test_charger_pages_walk_every_charger_once(client: GraphQLClient) -> None:
    everything = await client.data("NearbyChargers", near=WARSAW, radiusMeters=500, first=100)
    want = [e["node"]["id"] for e in everything["chargers"]["edges"]]
    seen: list[str] = []
    after = None
    for _ in range(len(want) + 1):
        page = await client.data(
            "NearbyChargers", near=WARSAW, radiusMeters=500, first=2, after=after
        )
        seen += [e["node"]["id"] for e in page["chargers"]["edges"]]
        if not page["chargers"]["pageInfo"]["hasNextPage"]:
            break
        after = page["chargers"]["pageInfo"]["endCursor"]
    assert seen == want


async def test_history_and_detail_with_bounded_upstream_calls(
    client: GraphQLClient, server: Server, driver: str
) -> None:
    await sandbox(server, "plugsurfing", "/_control/seed", {"userId": driver, "count": 50})
    with client.request_id(f"history-{uuid.uuid4()}") as rid:
        data = await client.data("SessionHistory", first=50)
    calls = (await upstream_calls(server, "plugsurfing", rid)).get("total", 0)
    edges = data["viewer"]["sessions"]["edges"]
    assert len(edges) == 50
    assert data["viewer"]["id"] == driver
    assert all(e["node"]["charger"] and e["node"]["charger"]["name"] for e in edges)
    assert all(e["node"]["status"] == "COMPLETED" for e in edges)
    started = [e["node"]["startedAt"] for e in edges]
    assert started == sorted(started, reverse=True), "newest first"
    assert 1 <= calls <= 4, f"50 sessions with chargers cost {calls} upstream calls"

    detail = await client.data("SessionDetail", id=edges[0]["node"]["id"])
    node = detail["node"]
    assert node["id"] == edges[0]["node"]["id"]
    assert node["status"] == "COMPLETED" and node["providerStatus"] == "COMPLETE"
    assert node["cost"]["total"]["amountMinor"] > 0 and not node["cost"]["estimated"]
    assert node["charger"]["connectors"] and node["connector"]["id"]
    assert node["energy"]["wattHours"] > 0
    assert node["receipt"]["available"] and node["receipt"]["url"].startswith("http")


async def test_the_charger_of_a_session_is_read_once_for_two_details(redis_url: str) -> None:
    # Its own server: no other test has put this charger in its cache.
    srv = Server({**FAST_ENV, "BFF_CHARGER_CACHE_SECONDS": "60"})
    srv.start()
    driver = "charger-cache-driver"
    client = GraphQLClient(srv, srv.token(driver))
    evse_reads = "GET /drive/v1/evses"
    try:
        await sandbox(srv, "plugsurfing", "/_control/seed", {"userId": driver, "count": 1})
        [edge] = (await client.data("SessionHistory", first=5))["viewer"]["sessions"]["edges"]
        sid = edge["node"]["id"]
        reads = [(await sandbox(srv, "plugsurfing", "/_control/stats")).get(evse_reads, 0)]
        details = []
        for _ in range(2):
            details.append((await client.data("SessionDetail", id=sid))["node"])
            reads.append((await sandbox(srv, "plugsurfing", "/_control/stats")).get(evse_reads, 0))
    finally:
        await client.aclose()
        srv.stop()
    assert details[0]["charger"]["connectors"] and details[0]["connector"]["id"]
    assert details[1]["charger"] == details[0]["charger"]
    assert details[1]["connector"] == details[0]["connector"]
    assert [b - a for a, b in pairwise(reads)] == [1, 0], reads


async def test_history_pages_walk_every_session_exactly_once(
    client: GraphQLClient, server: Server, driver: str
) -> None:
    await sandbox(server, "plugsurfing", "/_control/seed", {"userId": driver, "count": 7})
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = await client.data("SessionHistory", first=3, after=after)
        conn = page["viewer"]["sessions"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(seen) == 7 and len(set(seen)) == 7


def codes(result: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


async def test_bad_input_gets_coded_errors(client: GraphQLClient, anon: GraphQLClient) -> None:
    r = await client.raw("query { chargers(near: ")
    assert r.status_code in (200, 400)
    assert codes(r.json()) == ["GRAPHQL_PARSE_FAILED"]
    result = await client.op("NearbyChargers", near=WARSAW, radiusMeters=-5)
    assert codes(result) == ["BAD_USER_INPUT"] and result["data"] is None
    result = await client.op("NearbyChargers", near=WARSAW, radiusMeters=500, first=10_000)
    assert codes(result) == ["BAD_USER_INPUT"]
    result = await client.op("SessionDetail", id="not-an-id")
    assert codes(result) == ["BAD_USER_INPUT"]
    result = await client.op("SessionHistory", first=5, after="garbage")
    assert codes(result) == ["BAD_USER_INPUT"]
    result = await client.execute("{ nope }")
    assert codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    result = await anon.op("SessionHistory", first=5)
    assert codes(result) == ["UNAUTHENTICATED"]


async def test_unknown_session_id_is_null(client: GraphQLClient) -> None:
    from bff import ids
    from bff.domain.model import Provider

    gid = ids.encode(ids.SESSION, Provider.PLUGSURFING, "does-not-exist")
    result = await client.op("SessionDetail", id=gid)
    assert result["data"] == {"node": None}
