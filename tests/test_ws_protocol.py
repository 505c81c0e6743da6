"""The lean receive queue and writable flag of bff.ws_protocol behave as the asyncio
objects uvicorn's protocol was written against (order, several waiters, no lost
wake-up); the e2e websocket tests run `bff serve` with the protocol itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.config import Config

from bff import cli, logs
from bff.waiting import Flag, Inbox
from bff.ws_protocol import LeanWebSocketProtocol


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
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(logs, "configure_logging", lambda level: None)
    assert cli.main(["serve", "--port", "8999"]) == 0
    assert seen["ws"] is LeanWebSocketProtocol
    assert seen["ws_per_message_deflate"] is False
    config = Config(app=lambda *_: None, ws=seen["ws"])
    config.load()
    assert config.ws_protocol_class is LeanWebSocketProtocol  # uvicorn takes the class as is
