"""The graphql-transport-ws handler's socket plumbing, lean for thousands of idle sockets.

Strawberry's handler (with persisted queries, :mod:`bff.graphql.persisted_view`), with:
a receive loop that keeps nothing of the last message while it waits for the next; the
connection-init timeout task and the token dropped once the connection is up; and
prepared ``next`` messages sent as they are, straight to the server's own send
(:data:`~bff.observability.requestid.RAW_SEND`).
"""

from __future__ import annotations

import json
from json import JSONDecodeError
from typing import cast

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from bff.graphql.context import Context
from bff.graphql.persisted_view import PersistedQueryWSHandler
from bff.observability.requestid import RAW_SEND

#: What :meth:`LeanWSHandler._receive` answers once the socket is closed.
_END = object()


class LeanWSHandler(PersistedQueryWSHandler):
    """Strawberry's graphql-transport-ws handler with less kept per socket."""

    async def handle(self) -> None:
        """Strawberry's receive loop, without keeping the last message alive while it
        waits for the next: an idle socket would hold its subscribe message's text and
        parsed dict (a second copy of the query) for as long as it stays open."""
        if not isinstance(self.websocket, ASGIWebSocketAdapter):  # pragma: no cover
            await super().handle()
            return
        self.on_request_accepted()
        try:
            try:
                while True:
                    message = await self._receive(self.websocket)
                    if message is _END:
                        break
                    await self.handle_message(cast(Message, message))
                    del message
            except NonTextMessageReceived:
                await self.handle_invalid_message("WebSocket message type must be text")
            except NonJsonMessageReceived:
                await self.handle_invalid_message("WebSocket message must be valid JSON")
        except WebSocketDisconnected:
            pass
        finally:
            await self.shutdown()

    async def _receive(self, adapter: ASGIWebSocketAdapter) -> object:
        """The next message, parsed (as Strawberry's ``iter_json``), or ``_END``."""
        socket = adapter.ws
        if socket.application_state == WebSocketState.DISCONNECTED:
            return _END
        try:
            text = await socket.receive_text()
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            return _END
        try:
            return self.view.decode_json(text)
        except JSONDecodeError as exc:
            raise NonJsonMessageReceived from exc

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        # Cancelled by now; kept, it would hold its CancelledError and traceback for the
        # socket's lifetime (Strawberry's shutdown copes with None).
        self.connection_init_timeout_task = None
        context = self.context
        if isinstance(context, Context) and context.authenticated:
            # The driver is known: the token (the bulk of the payload) is not needed again.
            context.connection_params = None

    async def _send_text(self, text: str) -> None:
        """A prepared ``next`` message, sent as it is (no per-socket encoding), to the
        server's own send when the app recorded it (:data:`RAW_SEND`)."""
        ws = self.websocket
        if not isinstance(ws, ASGIWebSocketAdapter):  # pragma: no cover - other servers
            await ws.send_json(json.loads(text))
            return
        socket = ws.ws
        raw = socket.scope.get(RAW_SEND)
        if raw is None:
            try:
                await socket.send_text(text)
            except WebSocketDisconnect as exc:
                raise WebSocketDisconnected from exc
            return
        if socket.application_state is not WebSocketState.CONNECTED:
            raise WebSocketDisconnected
        try:
            await raw({"type": "websocket.send", "text": text})
        except OSError as exc:  # the client is gone (as Starlette's send would say)
            socket.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnected from exc
