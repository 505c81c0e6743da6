"""permessage-deflate is off on GraphQL websockets unless BFF_WS_COMPRESSION is set: a
live update would otherwise be compressed once per socket (and every socket would hold
a compressor)."""

from __future__ import annotations

import asyncio
import base64
import os

from tests.conftest import FAST_ENV
from tests.support import Server

OFFER = "permessage-deflate; client_max_window_bits"


async def handshake(port: int) -> str:
    """The response head to an upgrade that offers permessage-deflate."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {OFFER}\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
        return head.decode("latin-1").lower()
    finally:
        writer.close()


async def test_compression_is_not_negotiated_by_default(server: Server) -> None:
    head = await handshake(server.port)
    assert head.startswith("http/1.1 101")
    assert "permessage-deflate" not in head


async def test_compression_is_negotiated_when_enabled(redis_url: str) -> None:
    srv = Server({**FAST_ENV, "BFF_WS_COMPRESSION": "true"})
    srv.start()
    try:
        head = await handshake(srv.port)
    finally:
        srv.stop()
    assert head.startswith("http/1.1 101")
    assert "sec-websocket-extensions: permessage-deflate" in head
