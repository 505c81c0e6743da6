"""``bff serve --workers 2``: two processes on one port (SO_REUSEPORT), the simulators and
Redis shared, a live session followed across workers, and everything gone after SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.conftest import FAST_ENV
from tests.support import GraphQLClient, Server, contract_operations, wait_for

WARSAW = {"latitude": 52.290056, "longitude": 20.907028}


@pytest.fixture(scope="module")
def two() -> Iterator[Server]:
    srv = Server({**FAST_ENV, "BFF_WORKERS": "2"})
    srv.start()
    yield srv
    srv.stop()


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            out.add(int(entry))
    return out


async def test_two_workers_answer_on_one_port(two: Server) -> None:
    async def worker_of_a_new_connection() -> int:
        async with httpx.AsyncClient(base_url=two.url) as http:
            return int((await http.get("/healthz")).json()["worker"])

    seen: set[int] = set()
    for _ in range(40):
        seen.add(await worker_of_a_new_connection())
        if len(seen) == 2:
            break
    assert len(seen) == 2, "connections are spread over both workers"
    assert two.proc is not None and seen <= _children(two.proc.pid)


async def test_a_live_session_is_followed_across_workers(two: Server) -> None:
    driver = f"workers-{uuid.uuid4().hex[:8]}"
    client = GraphQLClient(two, two.token(driver))
    try:
        data = await client.data("NearbyChargers", near=WARSAW, radiusMeters=500, first=50)
        ids = [k["id"] for e in data["chargers"]["edges"] if e["node"]["remoteStartStop"]
               and e["node"]["provider"] == "PLUGSURFING" for k in e["node"]["connectors"]]
        started = None
        for connector in ids:
            result = (await client.data("StartSession", input={"connectorId": connector}))
            if result["startSession"]["__typename"] == "StartSessionSuccess":
                started = result["startSession"]["session"]["id"]
                break
        assert started, "no free connector"
        url = two.url.replace("http://", "ws://") + "/graphql"
        statuses: list[str] = []
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {client.token}"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": contract_operations()["LiveSession"], "variables": {"id": started}}}))

            async def charging() -> bool:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                statuses.append(message["payload"]["data"]["sessionUpdated"]["status"])
                return statuses[-1] == "CHARGING"

            await wait_for(charging, 30, what="CHARGING on the live screen")
            # The stop goes over new connections: some land on the other worker.
            for _ in range(3):
                async with httpx.AsyncClient(base_url=two.url) as http:
                    await http.get("/healthz")
            stopped = await client.data("StopSession", id=started)
            assert stopped["stopSession"]["__typename"] == "StopSessionSuccess"

            async def completed() -> bool:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                statuses.append(message["payload"]["data"]["sessionUpdated"]["status"])
                return statuses[-1] == "COMPLETED"

            await wait_for(completed, 40, what="COMPLETED on the live screen")
    finally:
        await client.aclose()


def test_sigterm_stops_every_process() -> None:
    srv = Server({**FAST_ENV, "BFF_WORKERS": "2", "BFF_REDIS_URL": ""})  # embedded Redis too
    srv.start()
    assert srv.proc is not None
    family = _children(srv.proc.pid)
    grandchildren = set().union(*(_children(p) for p in family))
    assert len(family) >= 4, family  # 2 workers, the sandbox, the embedded redis-server
    srv.stop()
    assert srv.proc.returncode == 0
    gone = family | grandchildren
    assert not [p for p in gone if os.path.exists(f"/proc/{p}")], "a process outlived bff serve"
