"""A provider down or slow: queries answer within the provider's time budget with the
other providers' data and a PROVIDER_UNAVAILABLE error, and a circuit breaker stops
calling a dead provider (the sandbox's own request counter proves it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import FAST_ENV
from tests.e2e.flows import HELSINKI, WARSAW, connector, start
from tests.figures import Figures
from tests.hardening.support import control
from tests.support import GraphQLClient, Server, wait_for

BUDGET = 1.0  # BFF_*_TIMEOUT_SECONDS on this server
COOL_OFF = 1.5


@pytest.fixture(scope="module")
def faulty(redis_url: str) -> Iterator[Server]:
    srv = Server({**FAST_ENV, **{f"BFF_{p}_TIMEOUT_SECONDS": str(BUDGET)
                                 for p in ("PLUGSURFING", "PLUGCHOICE", "ROAMING")},
                  "BFF_CIRCUIT_FAILURE_THRESHOLD": "3",
                  "BFF_CIRCUIT_OPEN_SECONDS": str(COOL_OFF)})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def c(faulty: Server) -> AsyncIterator[GraphQLClient]:
    client = GraphQLClient(faulty, faulty.token(f"faults-{uuid.uuid4().hex[:8]}"))
    yield client
    await client.aclose()
    for p in ("plugsurfing", "plugchoice", "roaming"):
        await control(faulty, p, "/_control/faults", {"down": False, "latency_ms": 0})


async def recovered(c: GraphQLClient) -> None:
    """Until every provider answers again (open circuits close after their cool-off)."""
    near = {"near": WARSAW, "radiusMeters": 100, "first": 1}

    async def healthy() -> bool:
        return not unavailable(await c.op("NearbyChargers", **near))

    await wait_for(healthy, COOL_OFF * 4, 0.05, "every provider to answer again")


def unavailable(body: dict[str, Any]) -> list[str]:
    return sorted(e["extensions"]["provider"] for e in body.get("errors") or []
                  if e["extensions"]["code"] == "PROVIDER_UNAVAILABLE")


async def timed(c: GraphQLClient, op: str, **variables: Any) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    body = await c.op(op, **variables)
    return body, time.monotonic() - started


async def test_a_stopped_or_slow_provider_gives_partial_data_within_the_budget(
    faulty: Server, c: GraphQLClient, figures: Figures
) -> None:
    near = {"near": WARSAW, "radiusMeters": 2000, "first": 50}
    healthy, _ = await timed(c, "NearbyChargers", **near)
    assert "errors" not in healthy and healthy["data"]["chargers"]["edges"]

    await control(faulty, "roaming", "/_control/faults", {"down": True})
    down, down_s = await timed(c, "NearbyChargers", **near)
    assert down["data"] == healthy["data"], "the providers that answer are all there"
    assert unavailable(down) == ["ROAMING"] and down_s < BUDGET + 0.5

    await control(faulty, "roaming", "/_control/faults", {"down": False})
    await recovered(c)  # its circuit opened: wait for the cool-off and the trial
    await control(faulty, "roaming", "/_control/faults", {"latency_ms": 5000})
    slow, slow_s = await timed(c, "NearbyChargers", **near)
    assert slow["data"] == healthy["data"] and unavailable(slow) == ["ROAMING"]
    assert BUDGET - 0.1 < slow_s < BUDGET + 0.5, slow_s
    await control(faulty, "roaming", "/_control/faults", {"latency_ms": 0})
    await recovered(c)

    # History: Plugsurfing (which has a history API) down, the roaming session still shows.
    await control(faulty, "plugsurfing", "/_control/seed",
                  {"userId": c_driver(c), "count": 3})
    roaming = await start(c, await connector(c, HELSINKI, evse="FI-VRT-E20001"))
    assert roaming["__typename"] == "StartSessionSuccess", roaming
    full = (await c.data("SessionHistory", first=10))["viewer"]["sessions"]["edges"]
    assert len(full) == 4
    await control(faulty, "plugsurfing", "/_control/faults", {"down": True})
    part, part_s = await timed(c, "SessionHistory", first=10)
    edges = part["data"]["viewer"]["sessions"]["edges"]
    assert [e["node"]["id"] for e in edges] == [roaming["session"]["id"]]
    assert unavailable(part) == ["PLUGSURFING"] and part_s < BUDGET + 0.5
    await control(faulty, "plugsurfing", "/_control/faults", {"down": False})
    await recovered(c)
    await c.data("StopSession", id=roaming["session"]["id"])
    figures(f"provider stopped: NearbyChargers in {down_s * 1000:.0f} ms, SessionHistory in "
            f"{part_s * 1000:.0f} ms; provider 5 s slow: NearbyChargers in "
            f"{slow_s * 1000:.0f} ms (budget {BUDGET * 1000:.0f} ms); each with the other "
            f"providers' data and one PROVIDER_UNAVAILABLE error")


def c_driver(c: GraphQLClient) -> str:
    import jwt

    sub: str = jwt.decode(c.token or "", options={"verify_signature": False})["sub"]
    return sub


async def test_circuit_breaker_stops_calling_a_dead_provider(
    faulty: Server, c: GraphQLClient, figures: Figures
) -> None:
    near = {"near": WARSAW, "radiusMeters": 2000, "first": 10}

    async def calls() -> int:
        return int((await control(faulty, "plugchoice", "/_control/stats")).get("total", 0))

    await recovered(c)
    await control(faulty, "plugchoice", "/_control/faults", {"down": True})
    before = await calls()
    first = await c.op("NearbyChargers", **near)
    assert unavailable(first) == ["PLUGCHOICE"]
    opened_at = time.monotonic()
    tried = await calls() - before
    assert tried == 3, f"one request and its two retries open the circuit, not {tried}"

    # Open: queries still answer (partial), fast, and Plugchoice hears nothing.
    open_queries, base = 0, await calls()
    while time.monotonic() - opened_at < COOL_OFF * 0.75:
        body, took = await timed(c, "NearbyChargers", **near)
        assert unavailable(body) == ["PLUGCHOICE"] and body["data"]["chargers"]["edges"]
        assert took < 0.5, took
        open_queries += 1
    while_open = await calls() - base
    assert open_queries >= 5 and while_open == 0, (open_queries, while_open)

    # Half-open while still down: one trial call, which fails and opens it again.
    async def one_trial() -> int | None:
        await c.op("NearbyChargers", **near)
        n = await calls() - base
        return n or None

    assert await wait_for(one_trial, COOL_OFF * 3, 0.05, "a half-open trial") == 1
    assert time.monotonic() - opened_at >= COOL_OFF

    # The provider is back: after the next cool-off the trial succeeds and it closes.
    await control(faulty, "plugchoice", "/_control/faults", {"down": False})

    async def closed() -> bool:
        return unavailable(await c.op("NearbyChargers", **near)) == []

    await wait_for(closed, COOL_OFF * 3, 0.05, "the circuit to close")
    figures(f"circuit breaker: opened after 3 failed calls; {open_queries} queries while "
            f"open, upstream calls: {while_open}; one half-open trial per "
            f"{COOL_OFF:.1f} s cool-off; closed once the provider answered")
