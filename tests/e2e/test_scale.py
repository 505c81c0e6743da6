"""Redis connections and memory under many and misbehaving subscribers (issue 5)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import websockets

from bff.domain.model import Provider
from bff.store import keys
from tests.conftest import FAST_ENV, REDIS_URL
from tests.e2e.flows import WARSAW, connector, start, wait_status
from tests.observability.scrape import scrape, value
from tests.support import GraphQLClient, Server, wait_for


@pytest.fixture(scope="module")
def lone_server(redis_url: str) -> Any:
    srv = Server(FAST_ENV)
    srv.start()
    yield srv
    srv.stop()


async def redis_connections(server: Server) -> int:
    assert server.proc is not None
    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        clients = await r.client_list()
    finally:
        await r.aclose()
    pid = str(server.proc.pid)
    return sum(1 for c in clients if c.get("name", "").rsplit(":", 1)[-1] == pid)


def rss_kib(server: Server) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def open_subscriber(server: Server, token: str, query: str, sid: str) -> Any:
    url = server.url.replace("http", "ws") + "/graphql"
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  max_queue=4)
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                              "payload": {"query": query, "variables": {"id": sid}}}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if msg["type"] == "next":
            return ws
        assert msg["type"] == "ping", msg


def abort(ws: Any) -> None:
    """Vanish without a close frame (RST), like a phone losing its network."""
    sock = ws.transport.get_extra_info("socket")
    if sock is not None and sock.fileno() >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()


@pytest.fixture
async def live_session(lone_server: Server) -> AsyncIterator[tuple[GraphQLClient, str]]:
    c = GraphQLClient(lone_server, lone_server.token("fan-out-driver"))
    sid = (await start(c, await connector(c, WARSAW, skip=2)))["session"]["id"]
    await wait_status(c, sid, "CHARGING")
    yield c, sid
    await c.data("StopSession", id=sid)
    await c.aclose()


async def test_redis_connections_constant_from_1_to_1000_subscribers(
    lone_server: Server, live_session: tuple[GraphQLClient, str]
) -> None:
    client, sid = live_session
    query = client.ops["LiveSession"]
    node = (await client.data("SessionDetail", id=sid))["node"]
    channel = keys.session_channel(keys.session_key(Provider.PLUGSURFING,
                                                    node["providerSessionId"]))
    before = await live_subscriptions(client)
    first = await open_subscriber(lone_server, client.token or "", query, sid)
    with_one = await redis_connections(lone_server)
    sockets = [first]
    for _ in range(9):
        sockets += await asyncio.gather(*(
            open_subscriber(lone_server, client.token or "", query, sid) for _ in range(111)
        ))
    with_many = await redis_connections(lone_server)
    print(f"\nredis connections: 1 subscriber {with_one}, {len(sockets)} subscribers "
          f"{with_many}")
    assert len(sockets) >= 1000
    # The pool opens lazily up to its size (2) beside the one pub/sub connection: the
    # ceiling is 3 however many subscribers there are.
    assert with_one <= 3 and with_many <= 3
    # One feed for them all: one subscription of the server's pub/sub connection.
    assert await live_subscriptions(client) == before + len(sockets)
    assert await channel_subscribers(channel) == 1
    for ws in sockets:
        abort(ws)

    async def back() -> int | None:
        n = await redis_connections(lone_server)
        return n if n <= 3 else None

    after = await wait_for(back, 30, 0.2, "connections after abrupt disconnects")
    print(f"redis connections after 1000 abrupt disconnects: {after}")

    # Every subscription ended, the feed closed and its Redis channel was let go.
    async def released() -> bool:
        return (await live_subscriptions(client) == before
                and await channel_subscribers(channel) == 0)

    await wait_for(released, 30, 0.2, "subscriptions, the feed and its channel released")


async def live_subscriptions(client: GraphQLClient) -> float:
    """The server's gauge of running subscriptions (this module's server: only ours)."""
    return value(await scrape(client), "bff_graphql_subscriptions_active")


async def channel_subscribers(channel: str) -> int:
    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        [(_, n)] = await r.pubsub_numsub(channel)
    finally:
        await r.aclose()
    return int(n)


async def test_a_subscriber_that_stops_reading_does_not_grow_memory(
    lone_server: Server, live_session: tuple[GraphQLClient, str]
) -> None:
    from bff.live.codec import Snapshot, decode_snapshot, encode_snapshot

    client, sid = live_session
    node = (await client.data("SessionDetail", id=sid))["node"]
    provider_id = node["providerSessionId"]
    stuck = await open_subscriber(lone_server, client.token or "", client.ops["LiveSession"], sid)
    stuck.transport.pause_reading()  # never reads again: the server's sends back up
    reader = await open_subscriber(lone_server, client.token or "", client.ops["LiveSession"],
                                   sid)
    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        session_key = keys.session_key(Provider.PLUGSURFING, provider_id)
        snap = decode_snapshot(await r.get(keys.snapshot(session_key)))
        base = rss_kib(lone_server)
        pad = "x" * 8192  # 8 KiB a message: 16,000 of them would be 128 MiB if kept
        import dataclasses
        from datetime import timedelta

        from bff.domain.model import Energy

        base_wh = snap.session.energy.watt_hours if snap.session.energy else 0

        for batch in range(16):
            async with r.pipeline(transaction=False) as pipe:
                for i in range(1000):
                    n = batch * 1000 + i + 1
                    s = dataclasses.replace(
                        snap.session, observed_at=snap.session.observed_at + timedelta(seconds=n),
                        extra={"pad": pad}, energy=Energy(base_wh + n),
                    )
                    msg = encode_snapshot(Snapshot(s, snap.version + n, snap.driver_id,
                                                   snap.changed_at))
                    pipe.publish(keys.session_channel(session_key), msg)
                await pipe.execute()
        # A reading subscriber sees the last update: the server has handled them all.
        last = (snap.session.observed_at + timedelta(seconds=16_000)).isoformat()

        seen: list[str] = []

        async def reader_saw_last() -> bool:
            msg = json.loads(await asyncio.wait_for(reader.recv(), 30))
            if msg["type"] == "next":
                seen.append(msg["payload"]["data"]["sessionUpdated"]["updatedAt"])
            return bool(seen) and seen[-1] == last

        await wait_for(reader_saw_last, 60, 0, "the last update at a reading subscriber")
        grown = (rss_kib(lone_server) - base) / 1024
        print(f"\nserver RSS growth after 16,000 x 8 KiB updates to a stuck reader: "
              f"{grown:.1f} MiB")
        assert grown < 48, f"RSS grew {grown:.1f} MiB"
        # The server is still healthy for everyone else.
        assert (await client.data("SessionDetail", id=sid))["node"]["id"] == sid
    finally:
        await r.aclose()
        abort(stuck)
        abort(reader)
