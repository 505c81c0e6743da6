"""The open GraphQL websockets of this process, closed with 1012 at shutdown.

1012 (service restart) is what graphql-ws clients answer by reconnecting -- to another
replica. uvicorn already closes its sockets with 1012 before the app's lifespan ends;
this covers servers that do not, and whatever is still open when the lifespan ends.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger(__name__)

#: graphql-ws treats it as retryable: "the server is restarting, come back".
SERVICE_RESTART = 1012


class OpenSockets:
    """The accepted websockets of this process, by ASGI scope."""

    def __init__(self) -> None:
        self._open: dict[int, WebSocket] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, ws: WebSocket) -> None:
        self._open[id(ws.scope)] = ws

    def forget(self, scope: Scope) -> WebSocket | None:
        return self._open.pop(id(scope), None)

    async def close_all(self, code: int = SERVICE_RESTART, reason: str = "server restart") -> int:
        """Close every socket still open; how many were."""
        closed = 0
        for ws in list(self._open.values()):
            if ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):  # it may be going away at this moment
                    await ws.close(code=code, reason=reason)
                    closed += 1
        self._open.clear()
        if closed:
            log.info("closed %d websockets at shutdown", closed)
        return closed
