"""Fixtures: a real Redis, real BFF server processes with the sandboxes over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager

import pytest
import redis

from tests.figures import figures, pytest_configure, pytest_terminal_summary  # noqa: F401
from tests.redis_cluster import RedisCluster
from tests.redis_server import run_redis_base
from tests.support import GraphQLClient, Server

#: The run's own redis-server (see tests/redis_server.py); DB 15 for the servers, DB 13
#: for the push-path tests, DB 14 for the chaos test.
REDIS_URL = os.environ.get("BFF_TEST_REDIS_URL") or f"{run_redis_base()}/15"
#: Always the run's server (or BFF_TEST_REDIS_URL's): never a Redis named elsewhere, such
#: as a machine's own on 6379, since these tests flush it.
LIVE_REDIS_URL = f"{run_redis_base()}/13"

FAST_ENV = {
    "BFF_REDIS_URL": REDIS_URL,
    "BFF_SANDBOX_SPEED": "40",
    "BFF_START_TIMEOUT_SECONDS": "3",
    "BFF_CONNECTOR_COOLDOWN_SECONDS": "2",
    "BFF_POLL_INTERVAL_SECONDS": "0.3",
    # Many test servers share the test Redis and its per-provider poll budgets, and the
    # sessions earlier tests leave live get polled first: at the production budgets a new
    # session could wait ~20 s for its first poll. The sandboxes at speed 40 allow this.
    "BFF_POLL_BUDGETS": '{"PLUGSURFING": 6000, "ROAMING": 6000, "PLUGCHOICE": 1000}',
    "BFF_QUIET_POLL_AFTER_SECONDS": "1",
    "BFF_WS_PING_INTERVAL_SECONDS": "1",
    "BFF_WS_INIT_TIMEOUT_SECONDS": "2",
    "BFF_PLUGSURFING_TIMEOUT_SECONDS": "3",
    "BFF_PLUGCHOICE_TIMEOUT_SECONDS": "3",
    "BFF_ROAMING_TIMEOUT_SECONDS": "3",
    "BFF_MUTATION_RATE_PER_MINUTE": "1000",
    "BFF_LOG_LEVEL": "INFO",
    # One process per test server: tests count a process's connections and sockets
    # (tests/e2e/test_workers.py runs several).
    "BFF_WORKERS": "1",
}


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def server(redis_url: str) -> Iterator[Server]:
    srv = Server(FAST_ENV)
    srv.start()
    yield srv
    srv.stop()


@contextmanager
def server_alone(redis_url: str, env: Mapping[str, str], db: int) -> Iterator[Server]:
    """A server with its own sandboxes and Redis database ``db`` (emptied before and after),
    for a test that needs a free connector near the stage chargers: the suite's server's
    sandbox EVSEs are held by the sessions earlier tests left charging (an EVSE charges one
    car at a time: 409 CONNECTOR_OCCUPIED), and the suite's database holds those sessions
    live, for this server's pollers to spend the shared poll budget on."""
    own = redis_url.rsplit("/", 1)[0] + f"/{db}"
    client = redis.Redis.from_url(own)
    client.flushdb()
    srv = Server({**FAST_ENV, **env, "BFF_REDIS_URL": own})
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        client.flushdb()
        client.close()


@pytest.fixture
def own_server(redis_url: str) -> Iterator[Server]:
    """See :func:`server_alone`."""
    with server_alone(redis_url, {}, db=10) as srv:
        yield srv


@pytest.fixture
def driver() -> str:
    return f"driver-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(server: Server, driver: str) -> AsyncIterator[GraphQLClient]:
    c = GraphQLClient(server, server.token(driver))
    yield c
    await c.aclose()


@pytest.fixture
async def anon(server: Server) -> AsyncIterator[GraphQLClient]:
    c = GraphQLClient(server, None)
    yield c
    await c.aclose()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """3 masters + 3 replicas on loopback ports, for the tests that run on a cluster."""
    cluster = RedisCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session", params=["single", "cluster"])
def live_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The servers' settings on one Redis node, then on a Redis Cluster (issue 16): the
    live end-to-end tests that take it run on both."""
    if request.param == "single":
        request.getfixturevalue("redis_url")  # flushed around the run
        return FAST_ENV
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    return {**FAST_ENV, "BFF_REDIS_URL": cluster.url, "BFF_REDIS_CLUSTER": "true"}


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Server]:
    """The suite's server on one node; its twin on the cluster."""
    if live_env is FAST_ENV:
        yield request.getfixturevalue("server")
        return
    srv = Server(live_env)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def live_client(live_server: Server, driver: str) -> AsyncIterator[GraphQLClient]:
    c = GraphQLClient(live_server, live_server.token(driver))
    yield c
    await c.aclose()
