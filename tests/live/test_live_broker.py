"""The broker: one Redis connection for any number of listeners, clean-up, bounded
buffers, reconnects."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bff.live.broker import RESYNC, Event, RedisBroker, Subscription
from tests.live.conftest import LIVE_REDIS_URL
from tests.live.support import wait_for
from tests.redis_server import RedisServer as RedisProcess


@pytest.fixture
def name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(name: str) -> AsyncIterator[Redis]:
    c = Redis.from_url(LIVE_REDIS_URL, client_name=f"{name}-pool")
    yield c
    await c.aclose()


@pytest.fixture
async def broker(client: Redis, name: str) -> AsyncIterator[RedisBroker]:
    b = RedisBroker(client, LIVE_REDIS_URL, client_name=f"{name}-pubsub", max_keys=8)
    await b.start()
    yield b
    await b.aclose()


async def connections(client: Redis, name: str) -> int:
    """Our own connections to Redis (other tests may share the server)."""
    clients = await client.client_list()
    return sum(1 for c in clients if c.get("name", "").startswith(name))


async def redis_channels(client: Redis, prefix: str) -> list[bytes | str]:
    return list(await client.pubsub_channels(f"{prefix}*"))


async def test_one_connection_for_a_thousand_listeners(
    broker: RedisBroker, client: Redis, name: str
) -> None:
    ch = f"{name}:ch"
    ready: list[asyncio.Event] = []
    got: dict[int, str] = {}

    async def listen(i: int, gate: asyncio.Event) -> None:
        async with broker.subscribe(f"{ch}:{i % 100}", f"{ch}:all") as sub:
            gate.set()
            while True:
                item = await sub.get()
                if isinstance(item, Event) and item.channel == f"{ch}:all":
                    got[i] = item.message

    first = asyncio.Event()
    tasks = [asyncio.create_task(listen(0, first))]
    await first.wait()
    baseline = await connections(client, name)
    assert 1 <= baseline <= 3  # the subscriber connection plus our own pooled ones
    for i in range(1, 1000):
        ready.append(asyncio.Event())
        tasks.append(asyncio.create_task(listen(i, ready[-1])))
    await asyncio.gather(*(r.wait() for r in ready))
    assert await connections(client, name) == baseline
    assert len(await redis_channels(client, ch)) == 101
    await broker.publish(f"{ch}:all", "hello")
    await wait_for(lambda: len(got) == 1000, what="all 1000 listeners got the message")
    assert set(got.values()) == {"hello"}

    for t in tasks:  # an abrupt end for every listener
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert broker.channels == frozenset()

    async def none_left() -> bool:
        return not await redis_channels(client, ch)

    await wait_for(none_left, what="Redis channels unsubscribed")
    assert await connections(client, name) == baseline


async def test_last_listener_leaving_unsubscribes_even_when_the_body_raises(
    broker: RedisBroker, client: Redis, name: str
) -> None:
    ch = f"{name}:raise"
    async with broker.subscribe(ch):
        with pytest.raises(RuntimeError):
            async with broker.subscribe(ch):
                raise RuntimeError("boom")
        assert broker.channels == {ch}  # the other listener still holds it
        assert await redis_channels(client, ch) == [ch.encode()]
    assert broker.channels == frozenset()

    async def gone() -> bool:
        return not await redis_channels(client, ch)

    await wait_for(gone, what="unsubscribed after the body raised")


async def test_resubscribing_right_after_leaving_still_gets_messages(
    broker: RedisBroker, client: Redis, name: str
) -> None:
    ch = f"{name}:flap"
    for _ in range(20):
        async with broker.subscribe(ch):
            pass
        async with broker.subscribe(ch) as sub:
            await client.publish(ch, "m")
            async with asyncio.timeout(5):
                item = await sub.get()
            assert isinstance(item, Event) and item.message == "m"


async def test_a_reader_that_never_reads_stays_bounded(client: Redis, name: str) -> None:
    ch = f"{name}:flood"
    seen = 0
    # Every message about another session: nothing to conflate, so the buffer overflows.
    broker = RedisBroker(client, LIVE_REDIS_URL, key_of=lambda channel, message: message, max_keys=8)
    await broker.start()
    async with broker.subscribe(ch) as idle, broker.subscribe(ch) as reader:
        for i in range(10_000):
            await client.publish(ch, f"{i}")
            if i % 500 == 0:
                assert idle.pending <= idle.max_keys + 1
        await client.publish(ch, "end")
        async with asyncio.timeout(10):
            async for item in reader:
                seen += 1
                if isinstance(item, Event) and item.message == "end":
                    break
        # Every message reached the idle reader's buffer, which stayed bounded.
        assert idle.pending <= idle.max_keys + 1
        assert idle.conflated >= 10_000 - idle.max_keys
        assert await idle.get() is RESYNC  # it overflowed: it must re-read the state
    await broker.aclose()


def test_same_key_messages_conflate_to_the_newest() -> None:
    sub = Subscription(("c",), max_keys=4)
    for i in range(10_000):
        sub.put("session-a", Event("c", f"a{i}"))
        sub.put("session-b", Event("c", f"b{i}"))
    assert sub.pending == 2
    assert [sub._buf[k].message for k in sub._buf] == ["a9999", "b9999"]


async def retry(op: Callable[[], Awaitable[object]], within: float = 5.0) -> None:
    """Run ``op`` until Redis answers (a pool's connections die with the server)."""
    async with asyncio.timeout(within):
        while True:
            try:
                await op()
                return
            except RedisConnectionError:
                await asyncio.sleep(0.02)


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    proc = RedisProcess()
    proc.start()
    yield proc
    proc.kill()


async def test_reconnects_and_tells_listeners_to_resync(own_redis: RedisProcess) -> None:
    client = Redis.from_url(own_redis.url)
    broker = RedisBroker(
        client, own_redis.url, backoff_initial=0.02, backoff_max=0.2, ping_interval=1
    )
    await broker.start()
    try:
        async with broker.subscribe("a") as sub:
            await client.publish("a", "before")
            async with asyncio.timeout(5):
                assert await sub.get() == Event("a", "before")
            own_redis.kill()
            await wait_for(lambda: not broker.connected, what="the broker to notice")
            own_redis.start()
            async with asyncio.timeout(10):
                assert await sub.get() is RESYNC
            assert broker.reconnects >= 1
            await retry(lambda: client.publish("a", "after"))
            async with asyncio.timeout(5):
                assert await sub.get() == Event("a", "after")
    finally:
        await broker.aclose()
        await client.aclose()


async def test_subscribe_fails_cleanly_when_redis_stays_down() -> None:
    proc = RedisProcess()  # never started: nothing listens on its port
    client = Redis.from_url(proc.url)
    broker = RedisBroker(
        client, proc.url, backoff_initial=0.01, backoff_max=0.05, subscribe_timeout=0.3
    )
    await broker.start()
    try:
        with pytest.raises(RedisConnectionError):
            async with broker.subscribe("x"):
                pass
        assert broker.channels == frozenset()
    finally:
        await broker.aclose()
        await client.aclose()
