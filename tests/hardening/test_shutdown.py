"""Graceful shutdown of ``bff serve`` on SIGTERM: the request in flight is answered, open
websockets are closed with 1012 (service restart: graphql-ws clients reconnect), and the
embedded Redis the server started is gone with it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from pathlib import Path

import httpx

from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.hardening.support import close_code, control, ws_message, ws_open
from tests.support import GraphQLClient, Server, wait_for

NEAR = {"near": {"latitude": 60.1699, "longitude": 24.9384}, "radiusMeters": 2000, "first": 5}


def children(pid: int) -> dict[int, str]:
    """Child processes of ``pid`` by pid, with their command names."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        if int(rest.split()[1]) == pid:
            found[int(entry.name)] = name
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


async def test_sigterm_finishes_requests_closes_sockets_and_releases_redis(
    figures: Figures,
) -> None:
    env = {k: v for k, v in FAST_ENV.items() if k != "BFF_REDIS_URL"}
    srv = Server(env)  # no BFF_REDIS_URL: it starts an embedded redis-server
    srv.start()
    assert srv.proc is not None
    try:
        redis_pids = [p for p, name in children(srv.proc.pid).items() if "redis" in name]
        assert len(redis_pids) == 1, children(srv.proc.pid)
        c = GraphQLClient(srv, srv.token(f"shutdown-{uuid.uuid4().hex[:6]}"))
        ws = await ws_open(srv, c.token)
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": c.ops["MySessions"]}}))

        # A request that is still waiting on a (slow) provider when SIGTERM arrives.
        await control(srv, "roaming", "/_control/faults", {"latency_ms": 1500})
        before = (await control(srv, "roaming", "/_control/stats")).get("total", 0)
        in_flight = asyncio.create_task(c.op("NearbyChargers", **NEAR))

        async def reached_provider() -> bool:
            stats = await control(srv, "roaming", "/_control/stats")
            return int(stats.get("total", 0)) > before

        await wait_for(reached_provider, 10, 0.02, "the request to reach the provider")
        sent_at = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)

        code = await close_code(ws, timeout=10)
        body = await asyncio.wait_for(in_flight, 15)
        answered = time.monotonic() - sent_at
        assert code == 1012, code
        assert body["data"]["chargers"]["edges"] and "errors" not in body, body
        exit_code = await asyncio.to_thread(srv.proc.wait, 15)
        exited = time.monotonic() - sent_at
        # uvicorn shuts down, then re-raises the signal it caught: -15 is a clean exit.
        assert exit_code in (0, -signal.SIGTERM), exit_code
        assert "Application shutdown complete" in srv.log_path.read_text()
        assert not any(alive(p) for p in redis_pids), "the embedded redis-server is gone"
        try:
            await c.http.get("/healthz")
            raise AssertionError("the server still answers")
        except httpx.ConnectError:
            pass
        await c.aclose()
    finally:
        srv.stop()
    figures(f"graceful shutdown: in-flight request answered 200 {answered:.1f} s after "
            f"SIGTERM; websocket closed with {code}; exited after {exited:.1f} s; embedded "
            f"redis-server gone")
