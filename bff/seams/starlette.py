"""Starlette (starlette 1.10.0): ``/graphql`` taken past the middleware and router.

A websocket lives as long as its subscriber, and so does every frame of the ASGI call
that opened it: Starlette's error and exception middlewares, the router, the route and
its session wrapper stay suspended under each idle socket. None of them does anything
for a GraphQL socket (the request id middleware, which does, is kept; the handler itself
checks the protocol, the Origin and the token), so :func:`with_websocket_shortcut` sends
``/graphql`` websockets straight to their handler. Measured: RSS per 1,000 idle
subscribers on their own sessions (bench: subscriptions), see README "The seam".

The same for ``GET`` and ``POST /graphql``: the error and exception middlewares, the
router, the route and its request-response wrappers cost every request several calls and
three wrapped ``send`` functions, for nothing the GraphQL endpoint uses (it answers every
error itself). The request id middleware is kept, and CORS when it is configured. Measured:
CPU per request (bench: queries), see README "The seam".

It relies on Starlette setting ``scope["app"]`` for the handler (it reads the app's state
through it) and on the router matching the path without the root path.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from bff.seams import require

require("starlette", "1.10.0", __name__)


def with_graphql_shortcut(app: Starlette, path: str, socket: ASGIApp, http: ASGIApp) -> ASGIApp:
    """``app``, with websockets to ``path`` handled by ``socket`` and its GET and POST
    requests by ``http`` directly."""

    def shortcut(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: the call it hands on is returned, not awaited here, so no frame
        # of this function stays suspended under each open websocket.
        kind = scope["type"]
        if kind == "websocket" and _route_path(scope) == path:
            scope["app"] = app
            return socket(scope, receive, send)
        if kind == "http" and scope["method"] in _METHODS and _route_path(scope) == path:
            scope["app"] = app
            return http(scope, receive, send)
        return app(scope, receive, send)

    return shortcut


_METHODS = frozenset({"GET", "POST"})


def _route_path(scope: Scope) -> str:
    """The path the router would match (without the root path a proxy mounts us on)."""
    full: str = scope["path"]
    root: str = scope.get("root_path", "")
    return full[len(root) :] if root and full.startswith(root) else full
