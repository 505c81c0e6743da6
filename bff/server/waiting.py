"""Small waitable objects for things that exist by the thousand (one per socket or
subscription) and are rarely waited on: a future is made only while someone waits,
where ``asyncio.Queue`` and ``asyncio.Event`` each hold deques (~0.7 KiB an event)."""

from __future__ import annotations

import asyncio
from typing import Any


class _Waiters:
    """Futures of the tasks waiting, made only while they wait."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, None
        for fut in waiters or ():
            if not fut.done():
                fut.set_result(None)

    async def _wait(self) -> None:
        fut = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(fut)
        try:
            await fut
        finally:
            if self._waiters is not None and fut in self._waiters:
                self._waiters.remove(fut)


class Inbox(_Waiters):
    """What uvicorn's protocol needs of its receive queue: ``put_nowait``, ``get``,
    ``empty`` (unbounded, first in first out, any number of getters)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Any] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_all()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            await self._wait()
        return self._items.pop(0)


class Flag(_Waiters):
    """What uvicorn's protocol needs of its "writable" event: ``set``, ``clear``,
    ``is_set``, ``wait``."""

    __slots__ = ("_set",)

    def __init__(self, value: bool = False) -> None:
        super().__init__()
        self._set = value

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        self._wake_all()

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            await self._wait()
        return True
