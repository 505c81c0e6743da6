"""One GraphQL execution per update, shared by every subscriber that asked the same.

    Feeds   the process's feeds by key (query, operation name, variables, driver)
     └── Feed   one resolver run following the channel; executes each update once and
         │      keeps the newest serialized result per session
         └── Sink   one subscriber: which sessions changed since it last sent, and the
                    mark of what it sent (so nothing twice and never an older state)

A sink holds no payloads, only keys: a subscriber that falls behind sends the newest
state of each session when it catches up, and memory does not grow with a reader that
stops reading. The feed ends when its last sink leaves (its resolver's ``finally``
leaves the Redis channel) or when its stream ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from bff.graphql.live import LiveRun, Mark, Marked

log = logging.getLogger(__name__)

#: (query text, operation name, variables as canonical JSON, driver id)
FeedKey = tuple[str, str | None, str, str]
Stream = AsyncGenerator[Any, None]


def payload_text(result: ExecutionResult) -> str:
    """A ``next`` message's payload as JSON, as Strawberry's transport would send it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Entry:
    marked: Marked
    text: str


class Sink:
    """One subscriber of a feed."""

    __slots__ = ("_waiter", "ended", "feed", "pending", "sent")

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.pending: dict[str, None] = {}  # sessions changed since the last send, in order
        self.sent: dict[str, Mark] = {}
        self._waiter: asyncio.Future[None] | None = None
        self.ended = False

    def notify(self, key: str | None = None) -> None:
        if key is not None:
            self.pending[key] = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def record(self, marked: Marked) -> None:
        """The subscriber sent this state itself (its catch-up)."""
        prev = self.sent.get(marked.key)
        if prev is None or marked.mark > prev:
            self.sent[marked.key] = marked.mark

    def _take(self) -> list[str]:
        if not self.pending:
            return []
        keys = list(self.pending)
        self.pending.clear()
        out: list[str] = []
        for key in keys:
            entry = self.feed.latest.get(key)
            if entry is None:
                continue
            prev = self.sent.get(key)
            if prev is not None and entry.marked.mark <= prev:
                continue
            self.sent[key] = entry.marked.mark
            out.append(entry.text)
        return out

    async def next_texts(self) -> list[str] | None:
        """Payloads of states newer than sent, waiting for some; the feed's failure (if
        it failed) once it has ended, then None."""
        while True:
            texts = self._take()
            if texts:
                return texts
            if self.feed.closed:
                if self.ended:
                    return None
                self.ended = True
                failure = self.feed.failure
                return [failure] if failure is not None else None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class Feed:
    """One distinct subscription of this process."""

    def __init__(self, key: FeedKey) -> None:
        self.key = key
        self.run = LiveRun(initial=False)
        self.sinks: set[Sink] = set()
        self.latest: dict[str, Entry] = {}
        self.closed = False
        self.failure: str | None = None  # the payload of an error that ended the stream
        self.task: asyncio.Task[None] | None = None

    async def settled(self, seconds: float) -> None:
        """Until the feed is subscribed to its channel (or has ended), bounded."""
        try:
            async with asyncio.timeout(seconds):
                await self.run.ready.wait()
        except TimeoutError:
            log.warning("a shared subscription was not ready in %.0fs", seconds)

    def publish(self, marked: Marked, text: str) -> None:
        prev = self.latest.get(marked.key)
        if prev is not None and marked.mark <= prev.marked.mark:
            return
        self.latest[marked.key] = Entry(marked, text)
        for sink in self.sinks:
            sink.notify(marked.key)

    def end(self) -> None:
        self.closed = True
        self.run.ready.set()  # wake whoever waits for it to settle
        for sink in self.sinks:
            sink.notify()


class Feeds:
    """The shared subscriptions of one process (one registry per GraphQL view)."""

    def __init__(self) -> None:
        self._feeds: dict[FeedKey, Feed] = {}

    def __len__(self) -> int:
        return len(self._feeds)

    def join(self, key: FeedKey, start: Callable[[LiveRun], Awaitable[Stream]]) -> Sink:
        """A sink on the feed for ``key``, starting the feed (``start(run)`` opens its
        result stream) if there is none."""
        feed = self._feeds.get(key)
        if feed is None or feed.closed:
            feed = Feed(key)
            self._feeds[key] = feed
            feed.task = asyncio.create_task(self._run(feed, start), name="shared-subscription")
        sink = Sink(feed)
        feed.sinks.add(sink)
        return sink

    def leave(self, sink: Sink) -> None:
        feed = sink.feed
        feed.sinks.discard(sink)
        if feed.sinks:
            return
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]
        if not feed.closed:
            feed.closed = True
            if feed.task is not None:
                feed.task.cancel()  # its resolver's finally leaves the channel

    async def _run(self, feed: Feed, start: Callable[[LiveRun], Awaitable[Stream]]) -> None:
        run = feed.run
        try:
            source = await start(run)
            del start  # it holds the first subscriber's handler: not for the feed's lifetime
            async with aclosing(source):
                async for result in source:
                    marked, run.event = run.event, None
                    if isinstance(result, PreExecutionError) or not isinstance(
                        result, ExecutionResult
                    ):
                        break  # each subscriber's own run reports it
                    text = payload_text(result)
                    if marked is None:
                        feed.failure = text  # the resolver failed; the stream ends here
                        continue
                    feed.publish(marked, text)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a shared subscription failed")
        finally:
            if self._feeds.get(feed.key) is feed:
                del self._feeds[feed.key]
            feed.end()
