"""Bad websocket messages close the socket with graphql-transport-ws's 4400 and a reason
(the server's receive loop: bff.graphql.transport.ws.GraphQLSocket)."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.support import Server


async def closed_with(server: Server, send: str | bytes) -> tuple[int | None, str]:
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        token = server.token("ws-bad-input")
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}"}}))  # fmt: skip
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(send)
        try:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        except websockets.ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
    raise AssertionError("the socket stayed open")


async def test_a_message_that_is_not_json_closes_with_4400(server: Server) -> None:
    assert await closed_with(server, "{not json") == (4400, "a message is not valid JSON")


async def test_a_binary_message_closes_with_4400(server: Server) -> None:
    assert await closed_with(server, b"\x00\x01") == (4400, "WebSocket message type must be text")


async def test_an_unknown_message_type_closes_with_4400(server: Server) -> None:
    code, reason = await closed_with(server, json.dumps({"type": "nonsense"}))
    assert code == 4400 and reason


async def _closed(ws: websockets.ClientConnection, within: float) -> tuple[int | None, str]:
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
    raise AssertionError("the socket stayed open")


async def test_no_connection_init_in_time_closes_with_4408(server: Server) -> None:
    """The test servers wait BFF_WS_INIT_TIMEOUT_SECONDS=2 for connection_init."""
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        assert await _closed(ws, 10) == (4408, "Connection initialisation timeout")


async def test_a_second_connection_init_and_subscribe_before_ack_are_refused(
    server: Server,
) -> None:
    url = server.url.replace("http://", "ws://") + "/graphql"
    init = json.dumps({"type": "connection_init", "payload": {
        "authorization": f"Bearer {server.token('ws-protocol')}"}})
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "{ __typename }"}}))
        assert (await _closed(ws, 10))[0] == 4401
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(init)
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(init)
        assert (await _closed(ws, 10))[0] == 4429
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(init)
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        slow = json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription { viewerSessionsUpdated { id } }"}})
        await ws.send(slow)
        await ws.send(slow)
        assert (await _closed(ws, 10)) == (4409, "Subscriber for 1 already exists")
    async with websockets.connect(url) as ws:  # no graphql-transport-ws offered
        assert (await _closed(ws, 10))[0] == 4406
