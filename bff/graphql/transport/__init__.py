"""The GraphQL endpoint: HTTP (:mod:`.http`) and websocket (:mod:`.ws`) on one engine."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.requests import Request
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from bff.graphql.engine.engine import Engine, Limits
from bff.graphql.engine.persisted import open_persisted_queries
from bff.graphql.schema import ROOT_RESOLVERS, build_schema
from bff.graphql.schema.context import Context
from bff.graphql.transport.http import GraphQLHTTP
from bff.graphql.transport.protocol import SocketSettings
from bff.graphql.transport.ws import GraphQLSocket
from bff.observability.metrics import Metrics
from bff.observability.tracing import Tracing
from bff.resources import Resources
from bff.server.sockets import OpenSockets
from bff.settings import Settings
from bff.web import GraphiQLPage

__all__ = ["GraphQLEndpoint"]


class GraphQLEndpoint:
    """``/graphql`` over HTTP and websocket, and the sockets it keeps open."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics | None,
        tracing: Tracing | None = None,
        path: str = "/graphql",
    ) -> None:
        self.settings = settings
        self.path = path
        self.engine = Engine(
            build_schema(settings),
            Limits(
                max_tokens=settings.max_tokens,
                max_depth=settings.max_query_depth,
                max_aliases=settings.max_aliases,
                introspection=settings.introspection,
            ),
            metrics,
            roots=ROOT_RESOLVERS,
            tracing=tracing,
        )
        self.sockets = OpenSockets(settings.ws_ping_interval_seconds)
        self.http = GraphQLHTTP(
            self.engine,
            _context,
            max_body_bytes=settings.max_body_bytes,
            max_query_bytes=settings.max_query_bytes,
            graphiql=GraphiQLPage() if settings.graphiql else None,
            metrics=metrics,
        )
        self._socket_settings = SocketSettings(
            allowed_origins=tuple(settings.allowed_origins),
            max_operations=settings.max_operations_per_socket,
            max_query_bytes=settings.max_query_bytes,
            init_timeout=settings.ws_init_timeout_seconds,
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route(self.path, self.http.handle, methods=["GET", "POST"]),
            WebSocketRoute(self.path, self.websocket),
        ]

    async def http_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``GET``/``POST`` as a bare ASGI app (see :mod:`bff.seams.starlette`)."""
        response = await self.http.handle(Request(scope, receive))
        await response(scope, receive, send)

    def websocket_asgi(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """The websocket handler as a bare ASGI app (see :mod:`bff.seams.starlette`); its
        call is returned, not awaited: no frame of this method stays under an open socket."""
        return self._socket(WebSocket(scope, receive, send)).run()

    async def websocket(self, ws: WebSocket) -> None:
        """The websocket handler for Starlette's routing (when not short-cut)."""
        await self._socket(ws).run()

    def _socket(self, ws: WebSocket) -> GraphQLSocket:
        resources: Resources = ws.app.state.resources
        return GraphQLSocket(
            ws, self.engine, Context(resources, None), self.sockets, self._socket_settings
        )

    async def start(self, resources: Resources) -> None:
        """Attach what needs the running resources (persisted queries live in Redis)."""
        self.engine.persisted = await open_persisted_queries(self.settings, resources.queries)

    async def close(self) -> None:
        """Close every socket (before the resources close: none may outlive Redis)."""
        await self.sockets.close_all()


def _context(request: Request, credentials: str | None) -> Context:
    resources: Resources = request.app.state.resources
    return Context(resources, credentials)
