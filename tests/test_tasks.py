"""bff.tasks: a cancellation a library drops is sent again until the task has ended."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bff.tasks import cancel, stop
from tests.conftest import LIVE_REDIS_URL

BOUND = 10.0  # seconds; every wait here ends on an event well before it


async def _swallows_first_cancel(started: asyncio.Event) -> str:
    """Drops the first cancellation, as ``asyncio.wait_for`` on Python 3.11 does when
    its result and the cancel arrive in one loop turn, then waits forever."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(3600)
    return "never"


async def test_stop_ends_a_task_that_drops_the_first_cancel() -> None:
    started = asyncio.Event()
    task = asyncio.create_task(_swallows_first_cancel(started))
    await started.wait()
    await asyncio.wait_for(stop(task), BOUND)
    assert task.cancelled()


async def test_cancel_without_waiting_still_ends_it() -> None:
    started = asyncio.Event()
    task = asyncio.create_task(_swallows_first_cancel(started))
    await started.wait()
    cancel(task)
    done, _ = await asyncio.wait({task}, timeout=BOUND)
    assert done == {task}
    assert task.cancelled()


async def test_stop_of_a_failed_or_missing_task_returns() -> None:
    async def fail() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fail())
    await asyncio.wait({task})
    await stop(task)
    await stop(None)


async def test_loops_of_redis_commands_on_fresh_connections_all_stop() -> None:
    """The real case: a loop that outlives Redis errors, cancelled while redis-py
    (re)connects. Each is stopped, whichever await the cancel lands in: by ``stop`` (odd
    rounds) or by ``cancel`` (even rounds). Put back to resending only every 0.1 s, this
    failed in a run beside a second test suite (a stop took over 10 s); its loop then
    never ended and held the run's teardown."""
    redis = Redis.from_url(LIVE_REDIS_URL, socket_timeout=5)
    running = True  # a loop a failed stop left behind ends with the test, not never

    async def loop(ready: asyncio.Event) -> None:
        while running:
            try:
                await redis.zrangebyscore("bff-test-tasks", "-inf", "+inf", withscores=True)
            except (RedisError, OSError):
                pass
            ready.set()

    tasks: list[asyncio.Task[None]] = []
    try:
        for i in range(40):
            ready = asyncio.Event()
            task = asyncio.create_task(loop(ready))
            tasks.append(task)
            await asyncio.wait_for(ready.wait(), BOUND)
            for _ in range(i % 5):  # land the cancel at different points
                await asyncio.sleep(0)
            if i % 2:
                await asyncio.wait_for(stop(task), BOUND)
            else:
                cancel(task)
                await asyncio.wait({task}, timeout=BOUND)
            assert task.done(), f"loop {i} still runs {BOUND} s after it was cancelled"
            assert task.cancelled()
            await redis.connection_pool.disconnect()  # the next loop connects afresh
    finally:
        running = False
        await asyncio.wait(tasks, timeout=BOUND)
        await redis.aclose()
