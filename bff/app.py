"""The ASGI app: GraphQL over HTTP and websocket, webhooks, health, and (by default) the
provider sandboxes under ``/_sandbox``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from bff.errors import Unauthenticated
from bff.gc_tuning import tune_gc
from bff.graphql.context import Context
from bff.graphql.live_view import LiveGraphQL
from bff.graphql.persisted import open_persisted_queries
from bff.graphql.schema import build_schema
from bff.live.loss_metrics import LossMetrics
from bff.live.routes import webhook_routes
from bff.observability.http import WebhookMetricsMiddleware, metrics_route
from bff.observability.metrics import Metrics
from bff.observability.requestid import RequestIdMiddleware
from bff.request_guard import GraphQLRequestGuard
from bff.sandbox.server import Sandboxes, sandbox_config
from bff.services import Services, open_services
from bff.settings import Settings
from bff.sockets import OpenSockets
from bff.web import GraphiQLPage, web_routes

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql"


class BFFGraphQL(LiveGraphQL):
    """Strawberry's ASGI view with our context, websocket auth and server pings (and
    persisted queries once the lifespan attaches the store)."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        super().__init__(
            build_schema(settings, metrics),
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            max_subscriptions_per_connection=settings.max_operations_per_socket,
            # Cross-origin browser websockets get 403 unless listed (same-origin pages,
            # like our GraphiQL, and clients without an Origin, like the apps, pass).
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.graphiql_page = GraphiQLPage() if settings.graphiql else None
        self.sockets = OpenSockets(settings.ws_ping_interval_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.sockets.forget(scope)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page loads GraphiQL from the BFF's own files; Strawberry's uses a CDN.
        assert self.graphiql_page is not None
        return self.graphiql_page.response(request)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        services: Services = request.app.state.services
        auth = request.headers.get("authorization") if isinstance(request, Request) else None
        context = Context(
            services, request, response if isinstance(response, Response) else None, auth
        )
        await context.authenticate()  # a JWKS key may need reading: not in a sync resolver
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        try:
            await context.authenticate()
            context.driver_id()
        except Unauthenticated as exc:
            log.info("websocket rejected", extra={"reason": exc.message})
            raise ConnectionRejectionError({"message": exc.message}) from None
        ws = context.request
        assert isinstance(ws, WebSocket)
        self.sockets.add(ws, context.token_expires_at)
        return None


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """503 while Redis does not answer. A Redis that answers but lost our data (or keeps
    none over a restart) is still ready, with ``degraded`` and ``warnings`` saying so:
    it serves, and taking every replica out of the load balancer would not help."""
    services: Services = request.app.state.services
    watch = services.hub.redis_loss
    try:
        async with asyncio.timeout(2):
            await watch.verify()  # reads the epoch marker: Redis answers, and kept our data
    except (RedisError, OSError, TimeoutError):
        return JSONResponse({"status": "unavailable", "redis": "down"}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "redis": "ok",
            "providers": sorted(p.value for p in services.adapters),
            **watch.report(),
        }
    )


class BFFApp(Starlette):
    """Starlette, with GraphQL websockets taken straight to the view.

    A websocket lives as long as its subscriber, and so does every frame of the ASGI
    call that opened it: the middleware stack and the router add about ten suspended
    frames per idle socket, none of which does anything for a GraphQL socket (the
    request id middleware, which does, is kept). The view itself checks the protocol,
    the Origin and the token.
    """

    graphql_socket: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "websocket"
            and self.graphql_socket is not None
            and _route_path(scope) == GRAPHQL_PATH
        ):
            scope["app"] = self
            await self.graphql_socket(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router would match (without the root path a proxy mounts us on)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    metrics = Metrics()
    view = BFFGraphQL(settings, metrics)
    # Size caps and malformed requests, before the view reads anything.
    guarded = GraphQLRequestGuard(view, settings.max_body_bytes, settings.max_query_bytes, metrics)
    sandboxes: Sandboxes | None = None
    routes: list[BaseRoute] = [
        Route(GRAPHQL_PATH, guarded, methods=["GET", "POST"]),
        WebSocketRoute(GRAPHQL_PATH, guarded),  # only if BFFApp's short cut is off
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *webhook_routes(lambda request: request.app.state.services.hub),
        *web_routes(settings),
        *([metrics_route(metrics)] if settings.metrics_enabled else []),
    ]
    if settings.providers == "sandbox" and not settings.sandbox_url:
        sandboxes = Sandboxes(sandbox_config(settings))
        routes.append(Mount("/_sandbox", routes=sandboxes.mounts()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, metrics) as services:
            app.state.services = services
            metrics.count_redis_reconnects(lambda: getattr(services.hub.broker, "reconnects", 0))
            metrics.registry.register(LossMetrics(services.hub.redis_loss))
            view.persisted = await open_persisted_queries(settings, services.redis, metrics)
            if sandboxes:
                await sandboxes.start()
            tune_gc()  # after start-up: what exists now lives as long as the process
            try:
                yield
            finally:
                # Before the services close: a socket must not outlive Redis and the hub.
                await view.sockets.close_all()
                if sandboxes:
                    await sandboxes.aclose()

    middleware = [
        Middleware(RequestIdMiddleware),  # outermost: every log line of a request has its id
        Middleware(WebhookMetricsMiddleware, metrics=metrics),
    ]
    if settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
            )
        )
    app = BFFApp(routes=routes, lifespan=lifespan, middleware=middleware)
    app.graphql_socket = RequestIdMiddleware(guarded)
    app.state.settings = settings
    app.state.metrics = metrics
    return app
