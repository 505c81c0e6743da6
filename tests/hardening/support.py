"""Helpers of the hardening tests: a redis-server of our own, a small local HTTP server,
raw graphql-transport-ws sockets and the sandbox's control routes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.types import ASGIApp

from tests.support import Server, free_port


@asynccontextmanager
async def local_http(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "local server did not start"
        assert not task.done(), task
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/graphql"


async def ws_open(server: Server, token: str | None, **kwargs: Any) -> Any:
    """A graphql-transport-ws socket after ``connection_init``; the ack is not read."""
    ws = await websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  **kwargs)
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return ws


async def ws_message(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The next message that is not a ping (pings are answered)."""
    deadline = time.monotonic() + timeout
    while True:
        msg: dict[str, Any] = json.loads(
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if msg["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        return msg


async def close_code(ws: Any, timeout: float = 10.0) -> int | None:
    """Read (answering pings) until the server closes; its close code."""
    try:
        while True:
            await ws_message(ws, timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def control(server: Server, provider: str, path: str, body: Any = None) -> Any:
    """A sandbox ``/_control`` call (GET without a body, POST with one)."""
    async with httpx.AsyncClient(base_url=f"{server.url}/_sandbox/{provider}",
                                 timeout=10) as http:
        r = await (http.post(path, json=body) if body is not None else http.get(path))
        r.raise_for_status()
        return r.json()


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
