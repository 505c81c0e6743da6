"""Guards of the GraphQL websocket: who may open one, and closing those open at shutdown.

- Browsers send ``Origin`` on a websocket handshake but apply no CORS to it: any page
  could open a socket to us. A handshake from an Origin that is neither this server
  itself (our GraphiQL page) nor in ``allowed_origins`` is refused with 403. No
  ``Origin`` at all means no browser (the mobile apps): allowed, the token decides.
- :class:`OpenSockets` remembers the accepted sockets so that shutdown closes those
  still open with 1012 (service restart), which graphql-ws clients answer by
  reconnecting -- to another replica. uvicorn already does this before the app's
  lifespan ends; this covers servers that do not.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger(__name__)

#: graphql-ws treats it as retryable: "the server is restarting, come back".
SERVICE_RESTART = 1012


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def origin_allowed(scope: Scope, allowed: Sequence[str]) -> bool:
    """Whether a websocket handshake may proceed (see the module docstring)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    origin = origin.strip()
    if "*" in allowed or origin in allowed:
        return True
    host = _header(scope, b"host")
    netloc = urlsplit(origin).netloc if "://" in origin else ""
    return bool(host and netloc and netloc.lower() == host.strip().lower())


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
