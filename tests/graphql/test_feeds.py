"""Subscription feeds (bff.graphql.engine.feeds): one run per key, every sink gets each
newer state once, a late sink starts from the newest, a slow sink gets the newest, the
last one out ends the feed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bff.graphql.engine.feeds import Feeds, Results, Sink
from bff.graphql.engine.marks import Marked

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = ("subscription { x }", None, "{}", "driver-1")


def marked(version: int, key: str = "P:s1", *, changed_at: float = 0.0,
           news_only: bool = False) -> Marked:
    return Marked(key, (T0 + timedelta(seconds=version), version), changed_at, news_only)


class Source:
    """A stand-in for a resolver run: yields what the test pushes, with its mark."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[Marked | None, Any]] = asyncio.Queue()
        self.starts = 0
        self.closed = asyncio.Event()

    def start(self) -> Callable[[], Results]:
        def start() -> Results:
            self.starts += 1

            async def results() -> Results:
                try:
                    while True:
                        mark, data = await self.events.get()
                        yield mark, json.dumps({"data": data}, separators=(",", ":"))
                finally:
                    self.closed.set()

            return results()

        return start

    async def push(self, version: int, key: str = "P:s1", **kw: Any) -> None:
        await self.events.put((marked(version, key, **kw), {"v": version, "key": key}))


class Inbox:
    """What one subscriber was sent; ``gate`` (when set) holds sends until opened."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.keys: list[str] = []
        self.finished: list[str | None] = []
        self.gate: asyncio.Event | None = None

    async def send(self, payload: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        data = json.loads(payload)["data"]
        self.sent.append(data["v"])
        self.keys.append(data["key"])

    async def finish(self, failure: str | None) -> None:
        self.finished.append(failure)


async def until(probe: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll ``probe`` until true, for at most ``seconds``."""
    for _ in range(int(seconds / 0.005)):
        if probe():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met in time")


async def attached(feeds: Feeds, source: Source, inbox: Inbox) -> Sink:
    sink = feeds.join(KEY, source.start())
    sink.attach(inbox.send, inbox.finish)
    return sink


async def test_one_run_per_key_and_each_state_once_to_every_sink() -> None:
    feeds, source = Feeds(), Source()
    a, b = Inbox(), Inbox()
    sa = await attached(feeds, source, a)
    sb = await attached(feeds, source, b)
    assert sa.feed is sb.feed and len(feeds) == 1 and source.starts == 1
    for v in (1, 2, 3):
        await source.push(v)
    await until(lambda: a.sent == [1, 2, 3] and b.sent == [1, 2, 3])
    await source.push(2)  # older than what was sent: dropped by the feed
    await source.push(4)
    await until(lambda: a.sent[-1] == 4 and b.sent[-1] == 4)
    assert a.sent == b.sent == [1, 2, 3, 4]
    feeds.leave(sa)
    feeds.leave(sb)


async def test_a_late_sink_starts_from_the_newest_state_of_each_key() -> None:
    feeds, source = Feeds(), Source()
    first = await attached(feeds, source, Inbox())
    for v in (1, 2, 3):
        await source.push(v)
    await source.push(7, "P:other")
    await until(lambda: len(first.feed.latest) == 2)
    late = Inbox()
    sink = await attached(feeds, source, late)
    assert source.starts == 1, "a late subscriber joins the running feed"
    assert sorted(zip(late.keys, late.sent, strict=True)) == [("P:other", 7), ("P:s1", 3)]
    await source.push(4)
    await until(lambda: late.sent[-1] == 4)
    await asyncio.sleep(0.05)
    assert len(late.sent) == 3, "nothing twice"
    feeds.leave(first)
    feeds.leave(sink)


async def test_a_late_sink_skips_news_from_before_it_joined() -> None:
    """A session list opened now shows live sessions, not one that ended earlier."""
    feeds, source = Feeds(), Source()
    first = await attached(feeds, source, Inbox())
    await source.push(1, "P:ended", changed_at=1.0, news_only=True)
    await source.push(1, "P:live")
    await until(lambda: len(first.feed.latest) == 2)
    late = Inbox()
    sink = await attached(feeds, source, late)
    assert late.keys == ["P:live"]
    feeds.leave(first)
    feeds.leave(sink)


async def test_a_slow_sink_gets_the_newest_state_not_a_backlog() -> None:
    feeds, source = Feeds(), Source()
    slow, fast = Inbox(), Inbox()
    slow.gate = asyncio.Event()
    ss = await attached(feeds, source, slow)
    sf = await attached(feeds, source, fast)
    for v in range(1, 21):
        await source.push(v)
    await until(lambda: fast.sent[-1:] == [20])
    assert slow.sent == []  # its first send is still waiting
    slow.gate.set()
    await until(lambda: slow.sent[-1:] == [20])
    assert slow.sent == [1, 20], "one send in flight, then the newest state only"
    assert fast.sent == list(range(1, 21))
    feeds.leave(ss)
    feeds.leave(sf)


async def test_the_last_one_out_ends_the_run() -> None:
    feeds, source = Feeds(), Source()
    sa = await attached(feeds, source, Inbox())
    sb = await attached(feeds, source, Inbox())
    feeds.leave(sa)
    await asyncio.sleep(0.02)
    assert not source.closed.is_set() and len(feeds) == 1
    feeds.leave(sb)
    await until(source.closed.is_set)
    assert len(feeds) == 0
    again = await attached(feeds, source, Inbox())  # the key starts afresh
    assert source.starts == 2 and again.feed is not sb.feed
    feeds.leave(again)


async def test_sessions_of_one_feed_are_kept_apart() -> None:
    feeds, source = Feeds(), Source()
    inbox = Inbox()
    sink = await attached(feeds, source, inbox)
    inbox.gate = asyncio.Event()
    await source.push(1, "P:a")  # waits at the gate
    await until(lambda: sink.feed.latest.get("P:a") is not None)
    await source.push(1, "P:b")
    await source.push(2, "P:a")
    await source.push(3, "P:a")
    inbox.gate.set()
    await until(lambda: len(inbox.sent) == 3)
    # a@1 was in flight; then b@1 (it changed first) and a@3 (a@2 replaced by a newer a)
    assert inbox.sent == [1, 1, 3], "no session is lost to another one's updates"
    assert inbox.keys == ["P:a", "P:b", "P:a"]
    feeds.leave(sink)


async def test_when_the_run_ends_every_sink_finishes() -> None:
    feeds = Feeds()

    def start() -> Results:
        async def results() -> Results:
            await asyncio.sleep(0.01)
            yield None, '{"data":null}'  # no mark: the run failed

        return results()

    inbox = Inbox()
    sink = feeds.join(KEY, start)
    sink.attach(inbox.send, inbox.finish)
    await until(lambda: inbox.finished != [])
    assert inbox.finished == ['{"data":null}'] and len(feeds) == 0
    feeds.leave(sink)
