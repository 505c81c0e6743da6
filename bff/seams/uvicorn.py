"""Private parts of uvicorn (uvicorn 0.55.0): a leaner sans-I/O websocket protocol.

An idle subscriber is mostly its websocket server protocol: ~20 KiB of uvicorn's and the
``websockets`` library's objects per socket, before any of the app's. This subclass of
``WebSocketsSansIOProtocol`` (``bff serve`` passes it to uvicorn as ``ws=``) keeps the
behaviour and trims what is only needed once or can be made on demand:

- the handshake's ``request`` and ``response`` objects once the handshake is done
  (uvicorn reads them only to answer it);
- the receive ``queue`` and the ``writable`` flag as small objects that make a future
  only while someone waits (:mod:`bff.server.waiting`), instead of an ``asyncio.Queue``
  and an ``asyncio.Event`` per socket; uvicorn uses only ``put_nowait``/``get``/
  ``empty`` and ``set``/``clear``/``wait``/``is_set`` of them;
- the ``websockets`` frame parser restarted between frames
  (:func:`bff.seams.websockets.fresh_parser`);
- a text message to an open socket (every live update) framed here and written at once,
  as uvicorn would after websockets' ``send_text`` and ``data_to_send`` (its state, the
  ``writable`` flag and ``close_sent`` checked first; anything else goes to uvicorn).

Measured: 29.6 -> 23.0 KiB per idle subscriber for the first two, 21.0 -> 17.4 for the
parser (tracemalloc; bench: subscriptions, RSS per 1,000 idle subscribers).
tests/seams/test_uvicorn.py checks the pieces and that ``bff serve`` uses it.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from bff.seams import require
from bff.seams.websockets import fresh_parser
from bff.server.waiting import Flag, Inbox

require("uvicorn", "0.55.0", __name__)

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
            fresh_parser(self.conn)

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.send" and self._plain_open():
            text = message.get("text")
            if text is not None:
                # What uvicorn would write (websockets' send_text, then data_to_send),
                # framed here: an unmasked, unfragmented, uncompressed text frame.
                self.transport.write(text_frame(text.encode()))
                return
        await super().send(message)
        if self.handshake_complete and "response" in self.__dict__:
            # Answered: the handshake's request and response are not read again.
            del self.request
            del self.response

    def _plain_open(self) -> bool:
        """Open, writable, without extensions: a text frame may be written as it is."""
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
            and self.writable.is_set()
            and self.conn.state is State.OPEN
            and not self.conn.extensions
        )


def text_frame(payload: bytes) -> bytes:
    """An unmasked (server to client), final text frame of ``payload`` (RFC 6455 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload
