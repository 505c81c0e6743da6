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

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from bff.waiting import Flag, Inbox

__all__ = ["LeanWebSocketProtocol"]


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
