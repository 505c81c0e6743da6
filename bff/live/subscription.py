"""One local listener of the broker: a bounded buffer that conflates by key.

Session state is a state, not a log: a reader that falls behind gets the newest message
per key (per session), never a backlog. When more keys are waiting than the bound, the
buffer is emptied and the reader is told to :data:`RESYNC` (re-read the snapshots), so
memory stays bounded even for a reader that never reads.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from bff.server.waiting import Flag


@dataclass(frozen=True, slots=True)
class Event:
    """A message published on ``channel``."""

    channel: str
    message: str


class Resync:
    """Messages may have been lost (reconnect, overflow): re-read the current state."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC: Final = Resync()


class Subscription:
    """What ``Broker.subscribe`` yields: iterate it for :class:`Event` and :data:`RESYNC`.

    Iteration ends when the subscription (or the broker) closes.
    """

    def __init__(self, channels: tuple[str, ...], max_keys: int) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.channels = channels
        self.max_keys = max_keys
        self.conflated = 0  # messages replaced by a newer one before being read
        self._buf: OrderedDict[str, Event] = OrderedDict()
        self._resync = False
        self._closed = False
        # Not an asyncio.Event: ~0.7 KB for each of thousands of idle subscriptions.
        self._ready = Flag()

    @property
    def pending(self) -> int:
        """Items waiting to be read (at most ``max_keys`` + 1)."""
        return len(self._buf) + self._resync

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, key: str, event: Event) -> None:
        if self._closed:
            return
        if key in self._buf:
            self.conflated += 1
        elif len(self._buf) >= self.max_keys:
            self.conflated += len(self._buf)
            self._buf.clear()
            self._resync = True
        self._buf[key] = event  # an existing key keeps its place in the queue
        self._ready.set()

    def resync(self) -> None:
        if not self._closed:
            self._resync = True
            self._ready.set()

    def close(self) -> None:
        self._closed = True
        self._buf.clear()
        self._ready.set()

    async def get(self) -> Event | Resync | None:
        """The next item, waiting for one; None once closed."""
        while True:
            if self._closed:
                return None
            if self._resync:
                self._resync = False
                return RESYNC
            if self._buf:
                return self._buf.popitem(last=False)[1]
            self._ready.clear()
            await self._ready.wait()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event | Resync:
        item = await self.get()
        if item is None:
            raise StopAsyncIteration
        return item
