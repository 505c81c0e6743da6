"""Helpers of the hardening tests: a redis-server of our own, a small local HTTP server,
raw graphql-transport-ws sockets and the sandbox's control routes."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn
import websockets
from starlette.types import ASGIApp

from tests.support import Server, free_port


class RedisServer:
    """A throwaway ``redis-server`` (no automatic persistence) that tests stop and start.

    :meth:`stop` saves first by default (``SHUTDOWN SAVE``), so that :meth:`start` brings
    the data back, as a managed Redis restarting from its persistence would.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bff-test-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--dbfilename", "dump.rdb"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def stop(self, save: bool = True) -> None:
        if self.proc is None:
            return
        if save:
            try:
                self.client().shutdown(save=True)
            except redis.exceptions.RedisError:
                pass  # SHUTDOWN closes the connection under redis-py's feet
        else:
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop(save=False)
        shutil.rmtree(self.dir, ignore_errors=True)


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
