"""Plugchoice fixtures: a fresh sandbox per test, an adapter talking to it over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bff.providers.plugchoice.adapter import PlugchoiceAdapter

from .plugchoice_support import SPEED, PlugchoiceRig


@pytest.fixture
async def rig() -> AsyncIterator[PlugchoiceRig]:
    r = PlugchoiceRig()
    await r.sandbox.start()
    try:
        yield r
    finally:
        await r.aclose()


@pytest.fixture
def adapter(rig: PlugchoiceRig) -> PlugchoiceAdapter:
    return rig.adapter


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[..., PlugchoiceRig]]:
    """Rigs at other speeds or retry counts, closed after the test."""
    rigs: list[PlugchoiceRig] = []

    def make(speed: float = SPEED, retries: int = 2) -> PlugchoiceRig:
        rigs.append(PlugchoiceRig(speed, retries))
        return rigs[-1]

    yield make
    for r in rigs:
        await r.aclose()
