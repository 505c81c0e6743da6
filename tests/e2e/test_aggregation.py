"""One history and one map across all three providers (issue 3)."""

from __future__ import annotations

from typing import Any

from tests.conftest import FAST_ENV
from tests.e2e.flows import HELSINKI, UTRECHT, WARSAW, connector, sandbox, start, wait_status
from tests.support import GraphQLClient, Server


async def history(client: GraphQLClient, first: int, after: str | None = None) -> dict[str, Any]:
    data = await client.data("SessionHistory", first=first, after=after)
    conn: dict[str, Any] = data["viewer"]["sessions"]
    return conn


async def sessions_everywhere(client: GraphQLClient, server: Server, driver: str) -> set[str]:
    await sandbox(server, "plugsurfing", "/_control/seed", {"userId": driver, "count": 3})
    pay = await start(client, await connector(client, UTRECHT, skip=3), email="d@example.com")
    assert pay["__typename"] == "PaymentRequired", pay
    roam = await start(client, await connector(client, HELSINKI, evse="FI-VRT-E20002"),
                       batteryTargetKwh=0.5)
    assert roam["__typename"] == "StartSessionSuccess", roam
    return {pay["session"]["id"], roam["session"]["id"]}


async def test_one_history_across_providers_pages_once_each(
    client: GraphQLClient, server: Server, driver: str
) -> None:
    started = await sessions_everywhere(client, server, driver)
    everything = await history(client, 50)
    nodes = [e["node"] for e in everything["edges"]]
    assert {n["provider"] for n in nodes} == {"PLUGSURFING", "PLUGCHOICE", "ROAMING"}
    assert len(nodes) == 5 and not everything["pageInfo"]["hasNextPage"]
    assert {n["id"] for n in nodes[:2]} == started, "the sessions just started come first"
    seeded = [n["startedAt"] for n in nodes[2:]]
    assert seeded == sorted(seeded, reverse=True)

    walked: list[str] = []
    after = None
    for _ in range(10):
        page = await history(client, 1, after)
        assert len(page["edges"]) <= 1
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == [n["id"] for n in nodes], "first: 1 walks every session exactly once"


async def test_upstream_requests_per_page_stay_bounded(redis_url: str) -> None:
    # Pollers off, so the sandboxes count only what the history pages ask for.
    srv = Server({**FAST_ENV, "BFF_POLL_INTERVAL_SECONDS": "3600",
                  "BFF_QUIET_POLL_AFTER_SECONDS": "3600"})
    srv.start()
    driver = "paging-driver"
    client = GraphQLClient(srv, srv.token(driver))
    try:
        await sessions_everywhere(client, srv, driver)
        await sandbox(srv, "plugsurfing", "/_control/seed", {"userId": driver, "count": 40})
        for first in (1, 5, 20, 100):
            before = {p: await sandbox(srv, p, "/_control/stats")
                      for p in ("plugsurfing", "plugchoice", "roaming")}
            page = await history(client, first)
            assert len(page["edges"]) == min(first, 45)
            for p, stats in before.items():
                after = await sandbox(srv, p, "/_control/stats")
                calls = after.get("total", 0) - stats.get("total", 0)
                print(f"\nSessionHistory first={first}: {p} upstream requests {calls}")
                assert calls <= 2, f"{p}: {calls} upstream requests for a page of {first}"
    finally:
        await client.aclose()
        srv.stop()


async def test_receipts_have_one_shape(client: GraphQLClient) -> None:
    roam = await start(client, await connector(client, HELSINKI, evse="FI-VRT-E12346"),
                       batteryTargetKwh=0.2)
    sid = roam["session"]["id"]
    done = await wait_status(client, sid, "COMPLETED", timeout=40)
    assert done["receipt"]["available"]
    assert done["cost"]["total"]["currency"] == "EUR" and not done["cost"]["estimated"]
    receipt = await client.execute(
        "query($id: ID!) { node(id: $id) { ... on ChargingSession { receipt { available "
        "cost { total { amountMinor currency } estimated } } } } }", {"id": sid})
    cost = receipt["data"]["node"]["receipt"]["cost"]
    assert cost["total"]["amountMinor"] == done["cost"]["total"]["amountMinor"]
    assert not cost["estimated"]


async def test_one_provider_down_gives_partial_data(redis_url: str) -> None:
    srv = Server(FAST_ENV)
    srv.start()
    client = GraphQLClient(srv, srv.token("partial-driver"))
    try:
        await sessions_everywhere(client, srv, "partial-driver")
        await sandbox(srv, "plugsurfing", "/_control/faults", {"down": True})
        result = await client.op("SessionHistory", first=20)
        providers = {e["node"]["provider"] for e in result["data"]["viewer"]["sessions"]["edges"]}
        assert providers == {"PLUGCHOICE", "ROAMING"}
        [error] = result["errors"]
        assert error["extensions"]["code"] == "PROVIDER_UNAVAILABLE"
        assert error["extensions"]["provider"] == "PLUGSURFING"

        await sandbox(srv, "plugsurfing", "/_control/faults", {"latency_ms": 10_000})
        for point, present in ((UTRECHT, "PLUGCHOICE"), (WARSAW, None)):
            result = await client.op("NearbyChargers", near=point, radiusMeters=2000)
            found = {e["node"]["provider"] for e in result["data"]["chargers"]["edges"]}
            assert found == ({present} if present else set())
            assert [e["extensions"]["provider"] for e in result["errors"]] == ["PLUGSURFING"]
    finally:
        await client.aclose()
        srv.stop()
