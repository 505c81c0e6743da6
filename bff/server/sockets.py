"""The open websockets of this process: one pinger for all of them, closing at token
expiry, and closing with 1012 at shutdown.

Protocol pings keep mobile networks from dropping idle sockets; a socket whose token
expires is closed with 4403 (graphql-ws clients reconnect with a fresh token). One task
does both for every socket, instead of a task (and a timer) per socket: an idle
subscriber costs no task of its own. A ping is sent eagerly (no task unless the socket
has to wait); a socket still waiting on its last ping gets no new one.

1012 (service restart) is what graphql-ws clients answer by reconnecting -- to another
replica. uvicorn already closes its sockets with 1012 before the app's lifespan ends;
this covers servers that do not, and whatever is still open when the lifespan ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from bff.server.eager import run_eagerly
from bff.tasks import stop

log = logging.getLogger(__name__)

#: graphql-ws treats it as retryable: "the server is restarting, come back".
SERVICE_RESTART = 1012
#: graphql-ws treats it as retryable too: reconnect with a fresh token.
TOKEN_EXPIRED = 4403


class Socket(Protocol):
    """What the keepalive needs of a socket."""

    @property
    def open(self) -> bool: ...

    def ping(self) -> Coroutine[Any, Any, None]: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(slots=True)
class _Open:
    socket: Socket
    seq: int
    sending: asyncio.Task[None] | None = None

    def sent(self, _: asyncio.Task[None]) -> None:
        self.sending = None


class OpenSockets:
    """The accepted websockets of this process."""

    def __init__(self, ping_interval: float = 20.0) -> None:
        self.ping_interval = ping_interval
        self._open: dict[int, _Open] = {}
        self._expiry: list[tuple[float, int, int]] = []  # (expires at, seq, socket id)
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, socket: Socket, expires_at: float | None = None) -> None:
        """Ping ``socket`` from now on, and close it at ``expires_at`` (epoch seconds)."""
        seq = next(self._seq)
        self._open[id(socket)] = _Open(socket, seq)
        if expires_at is not None:
            heapq.heappush(self._expiry, (expires_at, seq, id(socket)))
            if len(self._expiry) > 2 * len(self._open) + 64:
                self._compact()
            self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="websocket-keepalive")

    def forget(self, socket: Socket) -> None:
        entry = self._open.pop(id(socket), None)
        if entry is not None and entry.sending is not None:
            entry.sending.cancel()

    async def close_all(self, code: int = SERVICE_RESTART, reason: str = "server restart") -> int:
        """Stop pinging and close every socket still open; how many were."""
        if self._task is not None:
            await stop(self._task)
            self._task = None
        closed = 0
        for entry in list(self._open.values()):
            if entry.socket.open:
                with contextlib.suppress(Exception):  # it may be going away at this moment
                    await entry.socket.close(code, reason)
                    closed += 1
        self._open.clear()
        self._expiry.clear()
        if closed:
            log.info("closed %d websockets at shutdown", closed)
        return closed

    # -- the one task ------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self.ping_interval
        while self._open:
            self._close_expired(time.time())
            if loop.time() >= next_ping:
                self._ping_all()
                next_ping = loop.time() + self.ping_interval
            wait = next_ping - loop.time()
            if self._expiry:
                wait = min(wait, self._expiry[0][0] - time.time())
            self._wake.clear()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    def _ping_all(self) -> None:
        for entry in list(self._open.values()):
            if entry.sending is not None or not entry.socket.open:
                continue
            try:
                task = run_eagerly(entry.socket.ping())
            except Exception:
                continue
            if task is not None:
                entry.sending = task
                task.add_done_callback(entry.sent)

    def _close_expired(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            _, seq, sid = heapq.heappop(self._expiry)
            entry = self._open.get(sid)
            if entry is None or entry.seq != seq:
                continue  # that socket is gone
            if entry.socket.open:
                task = asyncio.create_task(self._close(entry.socket))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(socket: Socket) -> None:
        with contextlib.suppress(Exception):
            await socket.close(TOKEN_EXPIRED, "token expired")

    def _compact(self) -> None:
        """Drop the expiries of sockets that are gone (many short connections)."""
        live = {(e.seq, sid) for sid, e in self._open.items()}
        self._expiry = [x for x in self._expiry if (x[1], x[2]) in live]
        heapq.heapify(self._expiry)
