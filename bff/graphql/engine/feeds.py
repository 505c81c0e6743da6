"""One execution per update, shared by every subscriber that asked the same.

    Feeds   the process's feeds by key (query, operation name, variables, driver)
     └── Feed   one run of the subscription: its resolver follows the channel, each
         │      update is executed and serialized once, the newest result per key kept
         └── Sink   one subscriber: which keys changed since it last sent, and the mark
                    of what it sent (so nothing twice and never an older state)

Every subscription runs this way, the first subscriber of a key and the thousandth
alike: a subscriber joining a running feed starts from the feed's newest results (its
"current state"), then follows. A sink holds no payloads, only keys: a subscriber that
falls behind sends the newest state of each key when it catches up, and memory does not
grow with a reader that stops reading. Delivery needs no task per subscriber (see
:class:`Sink`). The feed ends when its last sink leaves (its resolver's ``finally``
leaves the Redis channel) or when its stream ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from bff.graphql.engine.marks import Marked
from bff.server.eager import run_eagerly
from bff.tasks import cancel

log = logging.getLogger(__name__)

#: (query text, operation name, variables as canonical JSON, who asks)
FeedKey = tuple[str, str | None, str, str]
#: A feed's results: (the state behind it, its payload as JSON); (None, payload) is the
#: failure that ends the feed.
Results = AsyncGenerator[tuple[Marked | None, str], None]
#: Sends one payload to the subscriber.
Send = Callable[[str], Coroutine[Any, Any, None]]
#: Ends the subscription, after sending the feed's failure if there is one.
Finish = Callable[[str | None], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Entry:
    marked: Marked
    text: str


class Sink:
    """One subscriber of a feed.

    Each change is sent at once, eagerly (no task per delivery); a send that has to wait,
    to a client that does not read, finishes in a task while later changes wait here as
    keys.
    """

    __slots__ = ("_busy", "_ending", "_finish", "_send", "feed", "joined", "pending", "sent")

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.joined = time.time()
        self.pending: dict[str, None] = {}  # keys changed since the last send, in order
        self.sent: dict[str, tuple[Any, ...]] = {}
        self._send: Send | None = None
        self._finish: Finish | None = None
        self._busy: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None

    def attach(self, send: Send, finish: Finish) -> None:
        """Deliver with ``send(payload)``, starting from the feed's newest results;
        ``finish(failure)`` runs when the feed ends (at once if it has ended)."""
        self._send, self._finish = send, finish
        for key, entry in self.feed.latest.items():
            if not (entry.marked.news_only and entry.marked.changed_at < self.joined):
                self.pending[key] = None
        self._flush()
        if self.feed.closed:
            self.end()

    def notify(self, key: str) -> None:
        self.pending[key] = None
        if self._send is not None and self._busy is None:
            self._flush()

    def detach(self) -> None:
        self._send = self._finish = None
        if self._busy is not None:
            self._busy.cancel()

    def _next(self) -> str | None:
        key = next(iter(self.pending))
        del self.pending[key]
        entry = self.feed.latest.get(key)
        if entry is None:
            return None
        prev = self.sent.get(key)
        if prev is not None and entry.marked.mark <= prev:
            return None
        self.sent[key] = entry.marked.mark
        return entry.text

    def _flush(self) -> None:
        while self.pending and self._send is not None and self._busy is None:
            text = self._next()
            if text is None:
                continue
            try:
                task = run_eagerly(self._send(text))
            except Exception as exc:  # the socket is gone; its handler cleans up
                log.debug("a subscriber's send failed: %r", exc)
                self._send = None
                return
            if task is not None:
                self._busy = task
                task.add_done_callback(self._drained)

    def _drained(self, task: asyncio.Task[None]) -> None:
        self._busy = None
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.debug("a subscriber's send failed: %r", task.exception())
            self._send = None
            return
        self._flush()

    def end(self) -> None:
        """The feed ended: the subscriber sends its failure (if any) and completes."""
        finish, self._finish = self._finish, None
        if finish is not None:
            self._ending = asyncio.ensure_future(self._end(finish))

    async def _end(self, finish: Finish) -> None:
        if self._busy is not None:
            await asyncio.wait([self._busy])
        self._flush()  # whatever the feed published before it ended
        if self._busy is not None:
            await asyncio.wait([self._busy])
        self._send = None
        await finish(self.feed.failure)


class Feed:
    """One distinct subscription of this process."""

    def __init__(self, key: FeedKey) -> None:
        self.key = key
        self.sinks: set[Sink] = set()
        self.latest: dict[str, Entry] = {}
        self.closed = False
        self.failure: str | None = None  # the payload of an error that ended the stream
        self.task: asyncio.Task[None] | None = None

    def publish(self, marked: Marked, text: str) -> None:
        prev = self.latest.get(marked.key)
        if prev is not None and marked.mark <= prev.marked.mark:
            return
        self.latest[marked.key] = Entry(marked, text)
        for sink in tuple(self.sinks):
            sink.notify(marked.key)

    def end(self) -> None:
        self.closed = True
        for sink in list(self.sinks):
            sink.end()


class Feeds:
    """The shared subscriptions of one process (one registry per engine)."""

    def __init__(self) -> None:
        self._feeds: dict[FeedKey, Feed] = {}

    def __len__(self) -> int:
        return len(self._feeds)

    def join(self, key: FeedKey, start: Callable[[], Results]) -> Sink:
        """A sink on the feed for ``key``, starting the feed (``start()`` gives its
        results) if there is none running."""
        feed = self._feeds.get(key)
        if feed is None or feed.closed:
            feed = Feed(key)
            self._feeds[key] = feed
            feed.task = asyncio.create_task(self._run(feed, start()), name="subscription")
        sink = Sink(feed)
        feed.sinks.add(sink)
        return sink

    def leave(self, sink: Sink) -> None:
        feed = sink.feed
        feed.sinks.discard(sink)
        sink.detach()
        if feed.sinks:
            return
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]
        if not feed.closed:
            feed.closed = True
            if feed.task is not None:
                cancel(feed.task)  # its resolver's finally leaves the channel

    async def _run(self, feed: Feed, results: Results) -> None:
        try:
            async with aclosing(results):
                async for marked, text in results:
                    if marked is None:
                        feed.failure = text  # the stream ends here
                        break
                    feed.publish(marked, text)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a subscription failed")
        finally:
            if self._feeds.get(feed.key) is feed:
                del self._feeds[feed.key]
            feed.end()
