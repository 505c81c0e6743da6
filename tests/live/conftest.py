"""Fixtures of the push-path tests: a real Redis (DB 13, flushed around each test)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

LIVE_REDIS_URL = os.environ.get("BFF_LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
async def rds() -> AsyncIterator[Redis]:
    client = Redis.from_url(LIVE_REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
