"""Test support: a real BFF server process, GraphQL over HTTP and graphql-transport-ws."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import websockets
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, print_ast

from bff.providers.http import KEEPALIVE_EXPIRY_SECONDS

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BFF_SHARED_DIR", ROOT.parent / "shared"))
CONTRACT = SHARED / "contract" / "app-operations.graphql"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def contract_operations() -> dict[str, str]:
    """Each contract operation as a standalone document with the fragments it needs."""
    doc = parse(CONTRACT.read_text())
    fragments = [d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)]
    out: dict[str, str] = {}
    for op in doc.definitions:
        if isinstance(op, OperationDefinitionNode) and op.name:
            text = print_ast(op)
            used = [f for f in fragments if f"...{f.name.value}" in text.replace(" ", "")]
            # fragments used by fragments
            changed = True
            while changed:
                changed = False
                body = text + "".join(print_ast(f) for f in used)
                for f in fragments:
                    if f not in used and f"...{f.name.value}" in body.replace(" ", ""):
                        used.append(f)
                        changed = True
            out[op.name.value] = "\n".join([text, *(print_ast(f) for f in used)])
    return out


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0, interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something truthy, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


class Server:
    """A ``bff serve`` child process on 127.0.0.1 with its own settings (``command``: another
    installation's ``bff serve``, run in ``cwd``)."""

    def __init__(self, env: dict[str, str], port: int | None = None,
                 command: list[str] | None = None, cwd: Path = ROOT) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "BFF_PORT": str(self.port), "BFF_HOST": "127.0.0.1"}
        self.command = command or [sys.executable, "-m", "bff", "serve"]
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = ROOT / "var" / f"server-{self.port}.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*self.command, "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()  # not left running (and polling) after the run
        raise RuntimeError(f"server did not become ready: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def token(self, driver: str, ttl: int = 3600) -> str:
        """A driver token signed with the server's (default dev) secret."""
        from bff.auth import DriverAuth
        from bff.settings import Settings

        return DriverAuth(Settings()).issue(driver, ttl)


class GraphQLClient:
    def __init__(self, server: Server, token: str | None) -> None:
        self.server = server
        self.token = token
        # Idle connections dropped before uvicorn closes them (5 s): a request sent on a
        # connection the server is closing fails with ReadError (seen once, a POST after
        # 200 subscribes in test_faults_redis). The BFF's own clients do the same.
        self.http = httpx.AsyncClient(
            base_url=server.url,
            timeout=30,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS),
        )
        self.ops = contract_operations()
        self._rid: str | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    def headers(self) -> dict[str, str]:
        auth = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return {**auth, "x-request-id": self._rid} if self._rid else auth

    @contextmanager
    def request_id(self, rid: str) -> Iterator[str]:
        """Requests within carry ``X-Request-ID: rid`` (the BFF forwards it to providers:
        a sandbox counts the calls of that request alone, see :func:`upstream_calls`)."""
        self._rid = rid
        try:
            yield rid
        finally:
            self._rid = None

    async def raw(self, query: str, variables: dict[str, Any] | None = None,
                  operation_name: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        return await self.http.post("/graphql", json=body, headers=self.headers())

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.raw(query, variables)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def op(self, name: str, **variables: Any) -> dict[str, Any]:
        """Run a contract operation unchanged; returns the whole response body."""
        r = await self.raw(self.ops[name], variables, name)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def data(self, name: str, **variables: Any) -> dict[str, Any]:
        result = await self.op(name, **variables)
        assert not result.get("errors"), result["errors"]
        data: dict[str, Any] = result["data"]
        return data


class WsSubscription:
    """One graphql-transport-ws connection running one operation."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.pings = 0

    async def next(self, timeout: float = 20.0) -> dict[str, Any]:
        """The next ``next`` payload (answering pings); raises on error/complete."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no subscription message in time")
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if msg["type"] == "ping":
                self.pings += 1
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if msg["type"] == "next":
                payload: dict[str, Any] = msg["payload"]
                return payload
            raise AssertionError(f"subscription ended: {msg}")


@asynccontextmanager
async def subscribe(
    server: Server, token: str | None, query: str, variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> AsyncIterator[WsSubscription]:
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": body}))
        yield WsSubscription(ws)


async def upstream_calls(server: Server, provider: str, rid: str) -> dict[str, int]:
    """The calls a sandbox got carrying request id ``rid``, by route, and ``total``."""
    async with httpx.AsyncClient(base_url=f"{server.url}/_sandbox/{provider}") as http:
        r = await http.get(f"/_control/stats/requests/{rid}")
        r.raise_for_status()
        calls: dict[str, int] = r.json()
        return calls
