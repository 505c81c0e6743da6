"""A lean graphql-transport-ws client on a bare asyncio protocol (RFC 6455 framing by
hand), so that thousands of subscribers cost the client little CPU and memory.

Only what the benchmarks need: one operation per connection, text frames, protocol
pings answered, close frames noticed. Latency is taken when a ``next`` arrives.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any

OnNext = Callable[["WsConn", dict[str, Any], float], None]


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (the mask is required of clients; its value is not)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    masked = (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big") if n else b""
    return head + mask + masked


class WsConn(asyncio.Protocol):
    """One websocket running one subscription."""

    def __init__(self, on_next: OnNext, tag: Any = None) -> None:
        self.on_next = on_next
        self.tag = tag
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.received = 0
        self.errors: list[Any] = []

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[:end]).split(b"\r\n", 1)[0]
            del self.buf[: end + 4]
            if b" 101 " not in status:
                self._fail(f"handshake refused: {status!r}")
                return
            self.upgraded = True
            self.send({"type": "connection_init", "payload": self.init_payload})
        self._frames()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail("connection lost")

    # -- frames ----------------------------------------------------------------------------

    def _frames(self) -> None:
        buf = self.buf
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            n = buf[1] & 0x7F
            at = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = struct.unpack_from("!H", buf, 2)[0]
                at = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = struct.unpack_from("!Q", buf, 2)[0]
                at = 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            if opcode == 0x1:
                self._message(payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                if not self.closed.done():
                    self.closed.set_result(code)
                self._fail(f"closed {code}")
            elif opcode == 0x9:
                self._write(_frame(0xA, payload))

    def _message(self, raw: bytes) -> None:
        now = time.time()
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "next":
            self.received += 1
            if not self.first.done():
                self.first.set_result(msg["payload"])
            self.on_next(self, msg["payload"], now)
        elif kind == "connection_ack":
            if not self.acked.done():
                self.acked.set_result(None)
            self.send({"id": "1", "type": "subscribe", "payload": self.subscribe_payload})
        elif kind == "ping":
            self.send({"type": "pong"})
        elif kind in ("error", "complete"):
            self.errors.append(msg)
            self._fail(f"{kind}: {msg.get('payload')}")

    def _fail(self, reason: str) -> None:
        for fut in (self.acked, self.first):
            if not fut.done():
                fut.set_exception(ConnectionError(reason))
                fut.exception()  # retrieved: a failure is counted, not logged
        if not self.closed.done():
            self.closed.set_result(1006)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send(self, message: dict[str, Any]) -> None:
        self._write(_frame(0x1, json.dumps(message).encode()))

    # -- life ------------------------------------------------------------------------------

    init_payload: dict[str, Any] = {}
    subscribe_payload: dict[str, Any] = {}

    def pause(self) -> None:
        """Stop reading: the server's sends back up in the kernel, then in the server."""
        if self.transport is not None:
            self.transport.pause_reading()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_subscription(
    host: str,
    port: int,
    token: str,
    query: str,
    variables: dict[str, Any],
    on_next: OnNext,
    tag: Any = None,
    seconds: float = 60.0,
) -> WsConn:
    """Connect, init with the token, subscribe; returns once the first ``next`` came."""
    loop = asyncio.get_running_loop()
    key = base64.b64encode(os.urandom(16)).decode()
    conn = WsConn(on_next, tag)
    conn.init_payload = {"authorization": f"Bearer {token}"}
    conn.subscribe_payload = {"query": query, "variables": variables}
    transport, _ = await asyncio.wait_for(loop.create_connection(lambda: conn, host, port), seconds)
    transport.write(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    await asyncio.wait_for(conn.first, seconds)
    return conn
