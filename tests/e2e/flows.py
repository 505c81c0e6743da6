"""Driver flows shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support import GraphQLClient, Server, wait_for

WARSAW = {"latitude": 52.290056, "longitude": 20.907028}
ERRORS = {"latitude": 52.334242, "longitude": 20.899305}
UTRECHT = {"latitude": 52.0907, "longitude": 5.1214}
HELSINKI = {"latitude": 60.1699, "longitude": 24.9384}


async def sandbox(server: Server, provider: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=f"{server.url}/_sandbox/{provider}") as http:
        r = await (http.post(path, json=body) if body is not None else http.get(path))
        r.raise_for_status()
        return r.json()


async def chargers(client: GraphQLClient, point: dict[str, float], radius: int = 2000
                   ) -> list[dict[str, Any]]:
    data = await client.data("NearbyChargers", near=point, radiusMeters=radius, first=100)
    return [e["node"] for e in data["chargers"]["edges"]]


async def connector(
    client: GraphQLClient, point: dict[str, float], *, evse: str | None = None,
    remote: bool = True, smart: bool | None = None, skip: int = 0,
) -> str:
    """A connector id of a working charger matching the wishes: an AVAILABLE one, else an
    OCCUPIED one (seed 001: a charger may still show OCCUPIED when it is free; a busy
    Plugsurfing EVSE refuses a second session, so ``skip`` spreads over free ones)."""
    free: list[str] = []
    busy: list[str] = []
    for c in await chargers(client, point):
        if evse is not None and c["evseId"] != evse:
            continue
        if c["remoteStartStop"] != remote or (smart is not None and c["smartCharging"] != smart):
            continue
        for x in c["connectors"]:
            if evse is not None or x["status"] == "AVAILABLE":
                free.append(x["id"])
            elif x["status"] == "OCCUPIED" and c["provider"] == "PLUGSURFING":
                busy.append(x["id"])
    found = free or busy
    assert found, f"no connector for {point} evse={evse} remote={remote}"
    return str(found[skip % len(found)])


async def start(
    client: GraphQLClient, connector_id: str, retry: bool = True, **extra: Any
) -> dict[str, Any]:
    """StartSession; by default waits out a ConnectorCoolingDown (bounded) and tries again."""
    for _ in range(4):
        data = await client.data("StartSession", input={"connectorId": connector_id, **extra})
        result: dict[str, Any] = data["startSession"]
        if not retry or result["__typename"] != "ConnectorCoolingDown":
            return result
        await asyncio.sleep(result["retryAfterSeconds"])
    return result


async def stop(client: GraphQLClient, session_id: str, timeout: float = 20.0) -> None:
    """Stop a session the test started, once it can be (a start still waiting at the
    charger cannot be stopped yet); nothing when it ended or failed by itself. A session
    left charging would keep its EVSE busy for the tests after."""

    async def stoppable() -> dict[str, Any] | None:
        node = await detail(client, session_id)
        done = node["status"] in ("STOPPED", "COMPLETED", "FAILED", "ABANDONED", "REFUNDED")
        return node if done or node["canStop"] else None

    if (await wait_for(stoppable, timeout, 0.1, f"{session_id} to be stoppable"))["canStop"]:
        await client.data("StopSession", id=session_id)


async def detail(client: GraphQLClient, session_id: str) -> dict[str, Any]:
    data = await client.data("SessionDetail", id=session_id)
    node: dict[str, Any] = data["node"]
    return node


async def wait_status(
    client: GraphQLClient, session_id: str, *statuses: str, timeout: float = 20.0,
    where: Any = None,
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        node = await detail(client, session_id)
        ok = node["status"] in statuses and (where is None or where(node))
        return node if ok else None

    return await wait_for(probe, timeout, 0.1, f"session {session_id} to be {statuses}")
