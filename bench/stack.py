"""One benchmark's world: a Redis, the sandboxes and one or more BFF workers, plus the
contract's operations and a small GraphQL client for setting things up."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.procs import BffProc, RedisProc, SandboxProc, free_port
from bff.graphql.engine.operations_file import operation_documents

ROOT = Path(__file__).resolve().parents[1]
_SHARED = ROOT.parent / "shared" / "contract" / "app-operations.graphql"
_BUNDLED = ROOT / "bff" / "web" / "contract.graphql"

WARSAW = {"latitude": 52.290056, "longitude": 20.907028}
UTRECHT = {"latitude": 52.0907, "longitude": 5.1214}
HELSINKI = {"latitude": 60.1699, "longitude": 24.9384}

#: Server settings for benchmarks: quiet logs, no pollers chasing benchmark sessions.
BASE_ENV = {
    "BFF_LOG_LEVEL": "WARNING",
    "BFF_WORKERS": "1",  # one worker unless a scenario asks for more
    "BFF_QUIET_POLL_AFTER_SECONDS": "3600",
    "BFF_POLL_INTERVAL_SECONDS": "60",
    "BFF_WATCHED_POLL_SECONDS": "3600",  # subscribers' sessions are not polled either
    "BFF_CONNECTOR_COOLDOWN_SECONDS": "1",
    "BFF_MUTATION_RATE_PER_MINUTE": "100000",
    "BFF_WS_PING_INTERVAL_SECONDS": "20",
}


def contract() -> dict[str, str]:
    path = _SHARED if _SHARED.exists() else _BUNDLED
    return operation_documents(path.read_text())


def token(driver: str, ttl: int = 6 * 3600) -> str:
    from bff.auth import DriverAuth
    from bff.settings import Settings

    return DriverAuth(Settings()).issue(driver, ttl)


class Gql:
    """Synchronous GraphQL over HTTP for set-up steps (not for load)."""

    def __init__(self, url: str, driver: str) -> None:
        self.url = url
        self.driver = driver
        self.token = token(driver)
        self.ops = contract()
        self.http = httpx.Client(base_url=url, timeout=30)

    def op(self, name: str, **variables: Any) -> dict[str, Any]:
        r = self.http.post(
            "/graphql",
            json={"query": self.ops[name], "variables": variables, "operationName": name},
            headers={"authorization": f"Bearer {self.token}"},
        )
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        if body.get("errors"):
            raise RuntimeError(f"{name}: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def connectors(self, point: dict[str, float], provider: str) -> list[str]:
        """Connector ids of remote-capable chargers of ``provider`` near ``point``: free
        ones first, then occupied ones (a sandbox charger may show OCCUPIED when free)."""
        data = self.op("NearbyChargers", near=point, radiusMeters=2000, first=100)
        free: list[str] = []
        busy: list[str] = []
        for e in data["chargers"]["edges"]:
            node = e["node"]
            if node["provider"] != provider or not node["remoteStartStop"]:
                continue
            for x in node["connectors"]:
                (free if x["status"] == "AVAILABLE" else busy).append(str(x["id"]))
        if not free + busy:
            raise RuntimeError(f"no {provider} connector near {point}")
        return free + busy

    def connector(self, point: dict[str, float], provider: str, skip: int = 0) -> str:
        found = self.connectors(point, provider)
        return found[skip % len(found)]

    def start(self, connector_id: str, **extra: Any) -> dict[str, Any]:
        for _ in range(20):
            data = self.op("StartSession", input={"connectorId": connector_id, **extra})
            result: dict[str, Any] = data["startSession"]
            if result["__typename"] != "ConnectorCoolingDown":
                return result
            time.sleep(min(5.0, result["retryAfterSeconds"]))
        raise RuntimeError("connector stayed cooling down")

    def wait_status(self, session_id: str, status: str, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            node: dict[str, Any] = self.op("SessionDetail", id=session_id)["node"]
            if node["status"] == status:
                return node
            time.sleep(0.2)
        raise RuntimeError(f"session {session_id} never became {status}")

    def close(self) -> None:
        self.http.close()


class Stack:
    """Redis, sandboxes and ``workers`` BFF processes sharing them."""

    def __init__(self, env: dict[str, str] | None = None, workers: int = 1, speed: float = 1):
        self.redis = RedisProc()
        ports = [free_port() for _ in range(workers)]
        self.sandbox = SandboxProc(f"http://127.0.0.1:{ports[0]}", speed)
        common = {
            **BASE_ENV,
            **(env or {}),
            "BFF_REDIS_URL": self.redis.url,
            "BFF_SANDBOX_URL": self.sandbox.url,
            "BFF_SANDBOX_SPEED": str(speed),
        }
        self.bffs = [BffProc(common, port) for port in ports]

    @property
    def bff(self) -> BffProc:
        return self.bffs[0]

    def start(self) -> None:
        self.redis.start()
        self.sandbox.start()
        for b in self.bffs:
            b.start()

    def restart_bff(self) -> None:
        """A fresh first worker (same port, Redis and sandboxes): clean CPU and memory."""
        old = self.bffs[0]
        old.stop()
        self.bffs[0] = BffProc(old.env, old.port)
        self.bffs[0].start()

    def stop(self) -> None:
        for b in self.bffs:
            b.stop()
        self.sandbox.stop()
        self.redis.stop()


@contextlib.contextmanager
def running(
    env: dict[str, str] | None = None, workers: int = 1, speed: float = 1
) -> Iterator[Stack]:
    stack = Stack(env, workers, speed)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
