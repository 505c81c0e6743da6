"""uvicorn's sans-I/O websocket protocol, keeping less for each open socket.

An idle subscriber is mostly its websocket server protocol: ~20 KiB of uvicorn's and the
``websockets`` library's objects per socket, before any of the app's. This subclass
(``bff serve`` passes it to uvicorn as ``ws=``) keeps the behaviour and trims what is
only needed once or can be made on demand:

- the handshake's request and response objects (their header lists) once the handshake
  is done (uvicorn reads them only to answer it);
- the receive queue and the "writable" flag as small objects that make a future only
  while someone waits, instead of an ``asyncio.Queue`` (three deques and a lock-free
  event) and an ``asyncio.Event`` (a deque) per socket.

It relies on how uvicorn's ``WebSocketsSansIOProtocol`` uses those attributes
(``put_nowait``/``get``/``empty``; ``set``/``clear``/``wait``; ``request``/``response``
during the handshake only; uvicorn is pinned to the version this was checked on):
tests/test_ws_protocol.py checks the pieces and that ``bff serve`` uses it, and every
e2e websocket test runs through it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


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


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol with less per socket (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and "response" in self.__dict__:
            # Answered: the handshake's request and response are not read again.
            del self.request
            del self.response
