"""Fixtures of the push-path tests: a real Redis (DB 13, flushed around each test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.conftest import LIVE_REDIS_URL

__all__ = ["LIVE_REDIS_URL"]


@pytest.fixture
async def rds() -> AsyncIterator[Redis]:
    client = Redis.from_url(LIVE_REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
