"""Helpers for the Plugsurfing tests: waiting on conditions with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

SPEED = 200.0  # simulated seconds per real second: a full lifecycle takes ~0.1 s


async def eventually(
    fetch: Callable[[], Awaitable[T]], check: Callable[[T], bool], within: float = 5.0
) -> T:
    """Poll ``fetch`` until ``check`` holds for its value; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(0.005)


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``predicate()`` is true (e.g. enough simulated time has passed)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.005)
