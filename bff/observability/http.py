"""The HTTP side of observability: ``GET /metrics`` and webhook outcomes.

Webhook outcomes are counted at the ASGI edge, from the status we answered, so the
webhook handlers (``bff.live.routes``) need not know about metrics.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.domain.model import Provider
from bff.observability.metrics import CONTENT_TYPE, Metrics

_WEBHOOKS = "/webhooks/"
_PROVIDERS = {p.value.lower(): p.value for p in Provider}


def metrics_route(metrics: Metrics, path: str = "/metrics") -> Route:
    """``GET /metrics``: the app's registry in Prometheus text format."""

    async def endpoint(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return Route(path, endpoint, methods=["GET"], include_in_schema=False)


class WebhookMetricsMiddleware:
    """Counts ``POST /webhooks/<provider>`` answers by provider and status code."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        provider = (
            _PROVIDERS.get(path[len(_WEBHOOKS) :].strip("/"))
            if scope["type"] == "http" and path.startswith(_WEBHOOKS)
            else None
        )
        if provider is None:
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers if the app raises before responding

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            self.metrics.webhook(provider, status)
