"""Starlette (starlette 1.10.0): GraphQL websockets taken past the middleware and router.

A websocket lives as long as its subscriber, and so does every frame of the ASGI call
that opened it: Starlette's error and exception middlewares, the router, the route and
its session wrapper stay suspended under each idle socket. None of them does anything
for a GraphQL socket (the request id middleware, which does, is kept; the handler itself
checks the protocol, the Origin and the token), so :func:`with_websocket_shortcut` sends
``/graphql`` websockets straight to their handler. Measured: RSS per 1,000 idle
subscribers on their own sessions (bench: subscriptions), see README "The seam".

It relies on Starlette setting ``scope["app"]`` for the handler (it reads the app's state
through it) and on the router matching the path without the root path.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from bff.seams import require

require("starlette", "1.10.0", __name__)


def with_websocket_shortcut(app: Starlette, path: str, socket: ASGIApp) -> ASGIApp:
    """``app``, with websockets to ``path`` handled by ``socket`` directly."""

    def shortcut(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the call it hands on is returned, not awaited here, so no frame
        # of this function stays suspended under each open websocket.
        if scope["type"] == "websocket" and _route_path(scope) == path:
            scope["app"] = app
            return socket(scope, receive, send)
        return app(scope, receive, send)

    return shortcut


def _route_path(scope: Scope) -> str:
    """The path the router would match (without the root path a proxy mounts us on)."""
    full: str = scope["path"]
    root: str = scope.get("root_path", "")
    return full[len(root) :] if root and full.startswith(root) else full
