"""Tracing on: OpenTelemetry's SDK, exporters and instrumentations behind
:class:`~bff.observability.tracing.Tracing` (see that module for what is traced).

Imported only when the ``OTEL_*`` variables turn traces on. The provider is this app's
own (never the global one, so apps built side by side in one process do not share it),
and the instrumentations are bound to it per client: the provider clients' transports
(httpx), the command client of Redis (not the pub/sub connection), the HTTP edge. The
SDK reads the rest of its configuration from the environment: exporter headers, timeout
and compression, the sampler (``OTEL_TRACES_SAMPLER``), batching (``OTEL_BSP_*``),
resource attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from redis.asyncio import Redis, RedisCluster
from starlette.types import ASGIApp, Receive, Scope, Send

from bff.observability.spans import OrphanClientsDropped, Redacting
from bff.server.requestid import current_request_id
from bff.settings import Settings

#: The request id's attribute on server, operation and provider-call spans.
REQUEST_ID_ATTRIBUTE = "bff.request_id"
#: Paths that get no server span: probes and scrapes (every few seconds, nothing to see),
#: static files, and the sandboxes (they stand for the providers, which trace themselves).
UNTRACED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/", "/_sandbox/")
_WEBHOOK = re.compile(r"/webhooks/[a-z]{1,32}")
_TRACE_CONTEXT = TraceContextTextMapPropagator()
_NO_METRICS = NoOpMeterProvider()  # the Prometheus registry has the numbers already


class OtelTracing:
    """The :class:`~bff.observability.tracing.Tracing` of one app."""

    def __init__(
        self, settings: Settings, exporters: Sequence[str], redact: Callable[[str], str]
    ) -> None:
        resource = Resource.create({"service.name": settings.otel_service_name})
        # The sampler the environment asks for (OTEL_TRACES_SAMPLER, default parent-based
        # always-on), read by the SDK's own provider; ours wraps it.
        configured = TracerProvider(shutdown_on_exit=False).sampler
        self.provider = TracerProvider(
            resource=resource, sampler=OrphanClientsDropped(configured), shutdown_on_exit=False
        )
        for name in exporters:
            exporter: SpanExporter = OTLPSpanExporter() if name == "otlp" else ConsoleSpanExporter()
            self.provider.add_span_processor(BatchSpanProcessor(Redacting(exporter, redact)))
        self.tracer = self.provider.get_tracer("bff")

    # -- the edges ---------------------------------------------------------------------

    def asgi(self, app: ASGIApp) -> ASGIApp:
        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            await app(scope, receive, send)

        traced = OpenTelemetryMiddleware(
            inner,
            default_span_details=_span_details,
            server_request_hook=_server_request,
            tracer_provider=self.provider,
            meter_provider=_NO_METRICS,
            exclude_spans=["receive", "send"],
        )

        def edge(scope: Scope, receive: Receive, send: Send) -> Any:
            # A plain function handing the call on: no frame of its own under a websocket.
            if scope["type"] == "http" and not scope.get("path", "").startswith(UNTRACED_PREFIXES):
                return traced(scope, receive, send)
            return app(scope, receive, send)

        return edge

    def instrument_client(self, client: httpx.AsyncClient, provider: str) -> None:
        async def on_request(span: trace.Span, _: object) -> None:
            span.set_attribute("bff.provider", provider)
            rid = current_request_id()
            if rid is not None:
                span.set_attribute(REQUEST_ID_ATTRIBUTE, rid)

        HTTPXClientInstrumentor.instrument_client(
            client,
            tracer_provider=self.provider,
            meter_provider=_NO_METRICS,
            request_hook=on_request,
        )

    def instrument_redis(self, redis: Redis | RedisCluster) -> None:
        # Commands as "NAME ? ?": the instrumentation never records arguments.
        RedisInstrumentor.instrument_client(redis, tracer_provider=self.provider)

    # -- GraphQL -----------------------------------------------------------------------

    @contextmanager
    def operation(self, name: str | None, kind: str) -> Iterator[_Outcome]:
        with self.tracer.start_as_current_span(
            f"{kind} {name}" if name else kind,
            attributes=_operation_attributes(name, kind),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield _Outcome(span)
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    def refused(self, name: str | None, kind: str, codes: Sequence[str]) -> None:
        # ``name`` is the client's, unchecked: an attribute (cut short), not the span name.
        span = self.tracer.start_span(kind, attributes=_operation_attributes(name, kind))
        _Outcome(span).errors(codes)
        span.end()

    def subscribed(self, name: str | None) -> None:
        title = f"subscription {name}" if name else "subscription"
        self.tracer.start_span(title, attributes=_operation_attributes(name, "subscription")).end()

    def event(self, name: str | None, traceparent: str | None) -> _Event:
        parent = _TRACE_CONTEXT.extract({"traceparent": traceparent}) if traceparent else None
        span = self.tracer.start_span(
            "graphql.event",
            context=parent or Context(),  # never the feed task's own context
            kind=SpanKind.CONSUMER,
            attributes={"graphql.operation.type": "subscription",
                        **({"graphql.operation.name": name} if name else {})},
        )  # fmt: skip
        return _Event(span)

    # -- the rest ----------------------------------------------------------------------

    def traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        _TRACE_CONTEXT.inject(carrier)
        return carrier.get("traceparent")

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, str]) -> Iterator[None]:
        with self.tracer.start_as_current_span(name, attributes=dict(attributes)):
            yield

    def shutdown(self) -> None:
        self.provider.shutdown()


class _Outcome:
    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def errors(self, codes: Sequence[str]) -> None:
        if codes:
            self.span.set_attribute("graphql.error.codes", list(codes))
            self.span.set_status(Status(StatusCode.ERROR, codes[0]))


class _Event:
    """The event's span, current only inside ``with`` (never across the feed's yield)."""

    __slots__ = ("_using", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self._using: AbstractContextManager[Any] | None = None

    def __enter__(self) -> trace.Span:
        self._using = trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        )
        self._using.__enter__()
        return self.span

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:
            self.span.set_status(Status(StatusCode.ERROR, exc[0].__name__))
        using, self._using = self._using, None
        if using is not None:
            using.__exit__(*exc)

    def end(self) -> None:
        self.span.end()


def _operation_attributes(name: str | None, kind: str) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {"graphql.operation.type": kind}
    if name:
        attributes["graphql.operation.name"] = name[:100]
    rid = current_request_id()
    if rid is not None:
        attributes[REQUEST_ID_ATTRIBUTE] = rid
    return attributes


def _span_details(scope: Scope) -> tuple[str, dict[str, AttributeValue]]:
    """The server span's name: method and route for our routes, the method alone for
    anything else (a path may hold anything a client sends)."""
    method = str(scope.get("method", "HTTP")).upper()
    path = scope.get("path", "")
    if path == "/graphql" or _WEBHOOK.fullmatch(path):
        return f"{method} {path}", {"http.route": path}
    return method, {}


def _server_request(span: trace.Span, scope: Scope) -> None:
    rid = current_request_id()  # the RequestIdMiddleware outside has bound it
    if rid is not None and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, rid)
