"""The lean receive queue and writable flag of bff.seams.uvicorn behave as the asyncio
objects uvicorn's protocol was written against (order, several waiters, no lost
wake-up); the e2e websocket tests run `bff serve` with the protocol itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.config import Config
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol

from bff import cli, logs
from bff.seams.uvicorn import LeanWebSocketProtocol
from bff.seams.websockets import fresh_parser as _fresh_parser
from bff.server.waiting import Flag, Inbox


async def test_inbox_is_first_in_first_out_and_wakes_every_getter() -> None:
    inbox = Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert await inbox.get() == 1 and await inbox.get() == 2 and inbox.empty()
    getters = [asyncio.create_task(inbox.get()) for _ in range(3)]
    await asyncio.sleep(0)  # all three wait now
    for item in ("a", "b", "c"):
        inbox.put_nowait(item)
    async with asyncio.timeout(5):
        got = await asyncio.gather(*getters)
    assert sorted(got) == ["a", "b", "c"] and inbox.empty()


async def test_a_cancelled_getter_leaves_the_item_for_the_next() -> None:
    inbox = Inbox()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    waiting.cancel()
    inbox.put_nowait("kept")
    async with asyncio.timeout(5):
        assert await inbox.get() == "kept"


async def test_flag_waits_until_set_and_not_after_clear() -> None:
    flag = Flag(True)
    assert flag.is_set() and await flag.wait()
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    async with asyncio.timeout(5):
        assert await waiter
    assert flag.is_set()


def test_bff_serve_runs_uvicorn_with_the_lean_protocol_and_no_compression(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: Any = None) -> None:
        seen["config"] = server.config

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setattr(logs, "configure_logging", lambda *_: None)
    assert cli.main(["serve", "--port", "8999", "--workers", "1"]) == 0
    config: Config = seen["config"]
    assert config.ws is LeanWebSocketProtocol
    assert config.ws_per_message_deflate is False
    config.load()
    assert config.ws_protocol_class is LeanWebSocketProtocol  # uvicorn takes the class as is


def _open_server_protocol() -> ServerProtocol:
    conn = ServerProtocol()
    conn.receive_data(
        b"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    [request] = conn.events_received()
    conn.send_response(conn.accept(request))
    assert conn.state is State.OPEN
    return conn


def _client_text(text: str) -> bytes:
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=True)


def test_the_frame_parser_restarts_only_between_frames() -> None:
    conn = _open_server_protocol()
    handshake_parser = conn.parser
    conn.receive_data(_client_text('{"type":"connection_init"}'))
    [first] = conn.events_received()
    _fresh_parser(conn)  # between frames: a fresh frame parser, the handshake's is gone
    assert conn.parser is not handshake_parser
    assert conn.parser.gi_code is Protocol.parse.__code__  # type: ignore[attr-defined]

    frame = _client_text('{"type":"subscribe","id":"1"}')
    conn.receive_data(frame[:3])  # half a frame: the parser has read its header
    midway = conn.parser
    _fresh_parser(conn)
    assert conn.parser is midway  # not restarted in the middle of a frame
    conn.receive_data(frame[3:])
    [second] = conn.events_received()
    _fresh_parser(conn)
    conn.receive_data(_client_text("third") + _client_text("fourth"))
    texts = [first, second, *conn.events_received()]
    assert [bytes(f.data).decode() for f in texts if isinstance(f, Frame)] == [
        '{"type":"connection_init"}', '{"type":"subscribe","id":"1"}', "third", "fourth",
    ]  # fmt: skip


def test_a_text_frame_is_what_websockets_would_write() -> None:
    from bff.seams.uvicorn import text_frame

    conn = _open_server_protocol()
    conn.data_to_send()  # the handshake's answer
    for size in (0, 1, 125, 126, 1000, 65535, 65536, 70000):
        payload = ("é" * size).encode()[:size] if size else b""
        conn.send_text(payload)
        assert text_frame(payload) == b"".join(conn.data_to_send()), size
