"""run_eagerly: a coroutine runs at once, and gets a task only if it has to wait."""

from __future__ import annotations

import asyncio

import pytest

from bff.server.eager import run_eagerly


async def test_run_eagerly_runs_at_once_and_only_waits_in_a_task() -> None:
    log: list[str] = []

    async def quick() -> None:
        log.append("quick")

    async def slow(gate: asyncio.Event) -> None:
        log.append("slow:start")
        await gate.wait()
        await asyncio.sleep(0)
        log.append("slow:end")

    async def boom() -> None:
        raise ValueError("at once")

    assert run_eagerly(quick()) is None and log == ["quick"]
    gate = asyncio.Event()
    task = run_eagerly(slow(gate))
    assert task is not None and log == ["quick", "slow:start"]
    gate.set()
    await task
    assert log[-1] == "slow:end"
    with pytest.raises(ValueError):
        run_eagerly(boom())
    stuck = run_eagerly(slow(asyncio.Event()))
    assert stuck is not None
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
