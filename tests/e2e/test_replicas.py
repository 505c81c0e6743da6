"""Cross-replica claims with two real ``bff serve`` processes on one Redis, each with its
real sandbox adapters (its own in-process simulators, over HTTP): a connector's cooldown
taken on one replica holds on the other, and a driver's mutation rate limit is one budget
for both (README: Several replicas behind a load balancer)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from bff import ids
from bff.domain.model import Provider
from tests.conftest import FAST_ENV
from tests.e2e.flows import WARSAW, connector, start
from tests.support import GraphQLClient, Server

COOLDOWN_S = 60  # far longer than the test: it cannot lapse between the two starts
RATE = 6  # mutations per driver per minute (and the burst)


@pytest.fixture(scope="module")
def replicas(redis_url: str) -> Iterator[tuple[Server, Server]]:
    # A database of their own: a 60 s cooldown must not hold the other servers' connectors.
    own = redis_url.rsplit("/", 1)[0] + "/11"
    with redis.Redis.from_url(own) as sync:
        sync.flushdb()
    env = {**FAST_ENV, "BFF_REDIS_URL": own, "BFF_CONNECTOR_COOLDOWN_SECONDS": str(COOLDOWN_S),
           "BFF_MUTATION_RATE_PER_MINUTE": str(RATE)}
    a, b = Server(env), Server(env)
    a.start()
    try:
        b.start()
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


@pytest.fixture
async def clients(replicas: tuple[Server, Server]) -> AsyncIterator[tuple[GraphQLClient, ...]]:
    a, b = replicas
    driver = f"replica-{uuid.uuid4().hex[:8]}"
    pair = (GraphQLClient(a, a.token(driver)), GraphQLClient(b, b.token(driver)))
    yield pair
    for c in pair:
        await c.aclose()


async def test_a_cooldown_taken_on_one_replica_holds_on_the_other(
        replicas: tuple[Server, Server]) -> None:
    a, b = replicas
    on_a = GraphQLClient(a, a.token(f"first-{uuid.uuid4().hex[:8]}"))
    on_b = GraphQLClient(b, b.token(f"second-{uuid.uuid4().hex[:8]}"))
    try:
        plug = await connector(on_a, WARSAW, skip=3)
        started = await start(on_a, plug, retry=False)
        assert started["__typename"] == "StartSessionSuccess", started
        other = await start(on_b, plug, retry=False)
        assert other["__typename"] == "ConnectorCoolingDown", other
        assert 0 < other["retryAfterSeconds"] <= COOLDOWN_S
        # And on A itself, of course.
        again = await start(on_a, plug, retry=False)
        assert again["__typename"] == "ConnectorCoolingDown", again
        await on_a.data("StopSession", id=started["session"]["id"])
    finally:
        await on_a.aclose()
        await on_b.aclose()


async def test_one_mutation_budget_for_both_replicas(
        clients: tuple[GraphQLClient, GraphQLClient]) -> None:
    unknown = ids.encode(ids.SESSION, Provider.PLUGSURFING, f"nope-{uuid.uuid4().hex[:8]}")
    answers: list[tuple[int, str]] = []
    began = time.monotonic()
    for i in range(2 * RATE):  # RATE on each replica: each alone would allow them all
        body = await clients[i % 2].op("StopSession", id=unknown)
        answers.append((i % 2, body["data"]["stopSession"]["__typename"]))
    took = time.monotonic() - began
    allowed = [r for r, kind in answers if kind == "NotFound"]
    refused = [r for r, kind in answers if kind == "RateLimited"]
    assert len(allowed) + len(refused) == len(answers), answers
    # The burst, plus what the bucket refilled while the calls ran (one per 60/RATE s).
    assert len(allowed) <= RATE + int(took / (60 / RATE)) + 1, (answers, took)
    assert set(refused) == {0, 1}, f"both replicas refuse once the shared budget is spent: {answers}"
