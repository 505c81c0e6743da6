"""uvicorn's sans-I/O websocket protocol, keeping less for each open socket.

An idle subscriber is mostly its websocket server protocol: ~20 KiB of uvicorn's and the
``websockets`` library's objects per socket, before any of the app's. This subclass
(``bff serve`` passes it to uvicorn as ``ws=``) keeps the behaviour and trims what is
only needed once or can be made on demand:

- the handshake's request and response objects (their header lists) once the handshake
  is done (uvicorn reads them only to answer it);
- the receive queue and the "writable" flag as small objects that make a future only
  while someone waits, instead of an ``asyncio.Queue`` (three deques and a lock-free
  event) and an ``asyncio.Event`` (a deque) per socket;
- the ``websockets`` frame parser is restarted at a frame boundary after each message
  once the socket is open: the handshake's parser generator keeps the parsed handshake
  request (~2.3 KiB of headers), and any parser keeps the last frame it read, for as
  long as the socket lives. At a boundary (waiting in ``StreamReader.at_eof`` with
  nothing buffered) a fresh ``Protocol.parse`` is exactly what the old one would run.

It relies on how uvicorn's ``WebSocketsSansIOProtocol`` uses those attributes
(``put_nowait``/``get``/``empty``; ``set``/``clear``/``wait``; ``request``/``response``
during the handshake only; uvicorn is pinned to the version this was checked on):
tests/test_ws_protocol.py checks the pieces and that ``bff serve`` uses it, and every
e2e websocket test runs through it.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from bff.waiting import Flag, Inbox

__all__ = ["LeanWebSocketProtocol"]


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol with less per socket (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.handshake_complete:
            _fresh_parser(self.conn)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and "response" in self.__dict__:
            # Answered: the handshake's request and response are not read again.
            del self.request
            del self.response


def _fresh_parser(conn: Protocol) -> None:
    """Restart ``conn``'s frame parser if it waits at a frame boundary of an open
    connection (otherwise leave it: a frame may be half read, or it is closing)."""
    if conn.state is not State.OPEN or conn.parser_exc is not None:
        return
    gen: Any = conn.parser
    outer = gen.gi_code
    if outer is not _SERVER_PARSE and outer is not _PARSE:
        return  # discarding (closing), or a parser we do not know
    while gen.gi_yieldfrom is not None:
        gen = gen.gi_yieldfrom
    if getattr(gen, "gi_code", None) is not _AT_EOF or conn.reader.buffer:
        return
    fresh = Protocol.parse(conn)
    next(fresh)  # runs until it waits for the next frame, as the old one did
    old, conn.parser = conn.parser, fresh
    old.close()


_PARSE = Protocol.parse.__code__
_SERVER_PARSE = ServerProtocol.parse.__code__
_AT_EOF = StreamReader.at_eof.__code__
