"""``GET /metrics`` on a running server, scraped before and after real traffic."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import FAST_ENV
from tests.e2e.flows import UTRECHT, WARSAW, connector, start
from tests.figures import Figures
from tests.hardening.support import ws_message, ws_open
from tests.observability.scrape import Samples, scrape, value
from tests.support import GraphQLClient, Server, subscribe, wait_for


def codes(body: dict[str, object]) -> list[object]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [e["extensions"]["code"] for e in errors]


async def test_counters_move_after_real_traffic(client: GraphQLClient) -> None:
    before = await scrape(client)

    data = await client.data("NearbyChargers", near=WARSAW, radiusMeters=500)
    assert data["chargers"]["edges"]
    syntax = await client.execute("query Broken { chargers(")
    assert codes(syntax) == ["GRAPHQL_PARSE_FAILED"]
    webhook = await client.http.post(
        "/webhooks/plugsurfing",
        json={"event": "SESSION_UPDATED", "payload": {"userId": "u", "sessionId": "s"}},
        headers={"authorization": "not-the-configured-secret"},
    )
    assert webhook.status_code == 401

    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    op = {"operation": "NearbyChargers", "type": "query"}
    assert moved("bff_graphql_operations_total", **op) == 1
    assert moved("bff_graphql_operation_duration_seconds_count", **op) == 1
    assert moved("bff_graphql_operation_duration_seconds_sum", **op) > 0
    assert moved("bff_graphql_operation_duration_seconds_bucket", le="+Inf", **op) == 1
    assert moved("bff_graphql_errors_total", code="GRAPHQL_PARSE_FAILED") == 1
    assert moved("bff_webhooks_total", provider="PLUGSURFING", status="401") == 1
    assert moved("bff_upstream_requests_total", provider="PLUGSURFING", status="200") >= 1
    assert moved("bff_upstream_request_duration_seconds_count", provider="PLUGSURFING") >= 1
    assert any(name == "bff_redis_reconnects_total" for name, _, _ in after)


async def test_upstream_errors_are_counted_per_provider(client: GraphQLClient) -> None:
    faults = f"{client.server.url}/_sandbox/plugchoice/_control/faults"
    before = await scrape(client)
    async with httpx.AsyncClient() as http:
        (await http.post(faults, json={"down": True})).raise_for_status()
        try:
            body = await client.op("NearbyChargers", near=UTRECHT, radiusMeters=2000)
        finally:
            (await http.post(faults, json={"down": False})).raise_for_status()
    assert "PROVIDER_UNAVAILABLE" in codes(body)
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("bff_upstream_errors_total", provider="PLUGCHOICE", reason="http_5xx") >= 1
    assert moved("bff_upstream_requests_total", provider="PLUGCHOICE", status="503") >= 1
    assert moved("bff_graphql_errors_total", code="PROVIDER_UNAVAILABLE") >= 1


@pytest.fixture
async def own() -> AsyncIterator[tuple[Server, GraphQLClient]]:
    """A server of this test's alone: its gauges move only with what the test does (on the
    shared server, other tests' sockets still closing moved them too)."""
    srv = Server(FAST_ENV)
    srv.start()
    c = GraphQLClient(srv, srv.token(f"metrics-{uuid.uuid4().hex[:8]}"))
    try:
        yield srv, c
    finally:
        await c.aclose()
        srv.stop()


async def test_live_subscriptions_and_deliveries(own: tuple[Server, GraphQLClient]) -> None:
    server, client = own
    started = await start(client, await connector(client, WARSAW))
    assert started["__typename"] == "StartSessionSuccess", started
    session_id = started["session"]["id"]
    live = {"operation": "LiveSession"}
    before = await scrape(client)
    assert value(before, "bff_graphql_subscriptions_active") == 0, "a server of our own"

    def active(samples: Samples) -> float:
        return value(samples, "bff_graphql_subscriptions_active", **live)

    try:
        async with subscribe(
            server, client.token, client.ops["LiveSession"], {"id": session_id}, "LiveSession"
        ) as sub:
            first = await sub.next()
            assert first["data"]["sessionUpdated"]["id"] == session_id

            async def opened() -> Samples | None:
                now = await scrape(client)
                return now if active(now) == active(before) + 1 else None

            during = await wait_for(opened, 10, what="the active-subscriptions gauge to rise")
            delivered = value(during, "bff_graphql_subscription_deliveries_total", **live)
            assert (
                delivered - value(before, "bff_graphql_subscription_deliveries_total", **live) >= 1
            )
            assert (
                value(during, "bff_graphql_operations_total", type="subscription", **live)
                - value(before, "bff_graphql_operations_total", type="subscription", **live)
                == 1
            )

        async def closed() -> bool:
            return active(await scrape(client)) == active(before)

        await wait_for(closed, 10, what="the gauge to fall when the client leaves")
    finally:
        await client.op("StopSession", id=session_id)


async def test_only_validated_operations_of_signed_in_drivers_add_name_labels(
    client: GraphQLClient, anon: GraphQLClient, server: Server, figures: Figures
) -> None:
    tag = uuid.uuid4().hex[:8]
    anonymous = [f"query Anon{tag}x{i} {{ __typename }}" for i in range(20)]
    refused = [f"query Broken{tag} {{ chargers(", f"query Invalid{tag} {{ nope }}"]
    for query in [*anonymous, *refused]:
        assert (await anon.raw(query)).status_code == 200
    assert codes(await client.execute(f"query Signed{tag} {{ nope }}")) == [
        "GRAPHQL_VALIDATION_FAILED"]
    # A signed-in driver's subscription that does not validate (over the websocket).
    ws = await ws_open(server, client.token)
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": f"subscription Sub{tag} {{ nope }}"}}))
        assert (await ws_message(ws))["type"] == "error"
    finally:
        await ws.close()
    await client.execute(f"query Mine{tag} {{ __typename }}")
    await anon.execute(f"query Mine{tag} {{ __typename }}")  # a known name: counted as itself

    labels = {lab.get("operation") for _, lab, _ in await scrape(client)}
    assert {x for x in labels if x and tag in x} == {f"Mine{tag}"}, labels
    after = await scrape(client)
    assert value(after, "bff_graphql_operations_total", operation=f"Mine{tag}") == 2
    figures(f"operation-name labels: {len(anonymous)} anonymous names and 4 operations that "
            "did not validate added none (counted as 'other'); a signed-in driver's valid "
            "operation added its own")
