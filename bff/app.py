"""The ASGI app: GraphQL over HTTP and websocket, webhooks, health, and (by default) the
provider sandboxes under ``/_sandbox``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from bff.gc_tuning import tuned_after_startup
from bff.graphql.transport import GraphQLEndpoint
from bff.live.loss_metrics import LossMetrics
from bff.live.poll_metrics import PollMetrics
from bff.live.routes import webhook_routes
from bff.logs import redact
from bff.observability.http import WebhookMetricsMiddleware, metrics_route
from bff.observability.metrics import Metrics
from bff.observability.tracing import Tracing, open_tracing
from bff.resources import Resources, open_resources
from bff.sandbox.server import Sandboxes, sandbox_config
from bff.seams.starlette import with_graphql_shortcut
from bff.server.requestid import RequestIdMiddleware
from bff.settings import Settings
from bff.web import web_routes
from bff.web.receipts import receipt_routes

log = logging.getLogger(__name__)


async def healthz(_: Request) -> Response:
    # The worker process that answered (bff serve --workers N: one port, N processes).
    return JSONResponse({"status": "ok", "worker": os.getpid()})


async def readyz(request: Request) -> Response:
    """503 while Redis does not answer. A Redis that answers but lost our data (or keeps
    none over a restart) is still ready, with ``degraded`` and ``warnings`` saying so:
    it serves, and taking every replica out of the load balancer would not help."""
    resources: Resources = request.app.state.resources
    watch = resources.hub.redis_loss
    try:
        async with asyncio.timeout(2):
            await watch.verify()  # reads the epoch marker: Redis answers, and kept our data
    except (RedisError, OSError, TimeoutError):
        return JSONResponse({"status": "unavailable", "redis": "down"}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "redis": "ok",
            "providers": sorted(p.value for p in resources.adapters),
            **watch.report(),
        }
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    metrics = Metrics()
    # None unless the OTEL_* variables turn traces on (README: Traces).
    tracing = open_tracing(settings, redact)
    graphql = GraphQLEndpoint(settings, metrics, tracing)
    sandboxes: Sandboxes | None = None
    routes: list[BaseRoute] = [
        *graphql.routes(),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *webhook_routes(lambda request: request.app.state.resources.hub),
        *receipt_routes(),
        *web_routes(settings),
        *([metrics_route(metrics)] if settings.metrics_enabled else []),
    ]
    if settings.providers == "sandbox" and not settings.sandbox_url:
        sandboxes = Sandboxes(sandbox_config(settings))
        if not settings.sandbox_control_on():
            log.info("sandbox control routes (/_sandbox/*/_control) not mounted: BFF_HOST "
                     "%s, BFF_SANDBOX_CONTROL %s", settings.host, settings.sandbox_control)
        routes.append(Mount("/_sandbox", routes=sandboxes.mounts()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings, metrics, tracing) as resources:
            app.state.resources = resources
            metrics.count_redis_reconnects(lambda: getattr(resources.hub.broker, "reconnects", 0))
            metrics.registry.register(LossMetrics(resources.hub.redis_loss))
            metrics.registry.register(PollMetrics(resources.hub.poller))
            await graphql.start(resources)
            if sandboxes:
                await sandboxes.start()
            try:
                yield
            finally:
                # Before the resources close: a socket must not outlive Redis and the hub.
                await graphql.close()
                if sandboxes:
                    await sandboxes.aclose()
        if tracing is not None:
            tracing.shutdown()  # the last spans out

    middleware = [
        Middleware(RequestIdMiddleware),  # outermost: every log line of a request has its id
        *([Middleware(tracing.asgi)] if tracing is not None else []),  # spans with that id
        Middleware(WebhookMetricsMiddleware, metrics=metrics),
    ]
    if settings.allowed_origins:
        middleware.append(Middleware(CORSMiddleware, **_cors(settings)))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.graphql = graphql
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.tracing = tracing
    return app


def serving_app(settings: Settings) -> ASGIApp:
    """What ``bff serve`` runs: the app, with GraphQL websockets taken straight to their
    handler (:mod:`bff.seams.starlette`) and the collector tuned once it has started."""
    app = create_app(settings)
    graphql: GraphQLEndpoint = app.state.graphql
    socket = RequestIdMiddleware(graphql.websocket_asgi)
    http: ASGIApp = graphql.http_asgi
    if settings.allowed_origins:
        http = CORSMiddleware(http, **_cors(settings))
    tracing: Tracing | None = app.state.tracing
    if tracing is not None:
        http = tracing.asgi(http)
    shortcut = with_graphql_shortcut(app, graphql.path, socket, RequestIdMiddleware(http))
    return tuned_after_startup(shortcut)


def _cors(settings: Settings) -> dict[str, Any]:
    return {"allow_origins": settings.allowed_origins, "allow_methods": ["GET", "POST"],
            "allow_headers": ["*"]}  # fmt: skip
