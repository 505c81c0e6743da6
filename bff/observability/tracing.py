"""Traces: OpenTelemetry, on when the standard ``OTEL_*`` variables ask for it.

Off (the default: no ``OTEL_TRACES_EXPORTER``, no OTLP endpoint, or
``OTEL_SDK_DISABLED=true``) :func:`open_tracing` answers None: OpenTelemetry is not even
imported, nothing is instrumented, and each place that could make a span pays one
``if tracing is not None``. On, it is :class:`bff.observability.otel.OtelTracing`, and
one trace follows a request (its request id is ``bff.request_id`` on the server,
operation and provider-call spans):

    HTTP server span        POST /graphql, POST /webhooks/<provider> (not websockets,
     │                      not the probes, /metrics or the sandboxes), with the request id
     ├── query|mutation X   one per GraphQL operation (the engine's, not Strawberry's)
     │    ├── GET (client)  each provider HTTP attempt, its URL redacted
     │    └── Redis client  each command / pipeline (arguments never recorded)
     └── (a published live update carries the W3C ``traceparent``) ... and in every
         replica that delivers it, ``graphql.event``: the update executed for one shared
         subscription and sent to its subscribers, a child of the span that published it

A poll of one session is a trace of its own (``bff.poll``). Client spans (provider calls,
Redis commands) outside any trace are not kept: background housekeeping makes no noise.

Nothing leaves the process unredacted: every span name, attribute, event attribute and
status text goes through the log redactor (:func:`bff.logs.redact`: bearer tokens, JWTs,
secret query parameters, the path segments providers declare secret) on its way out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from bff.settings import Settings

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis, RedisCluster
    from starlette.types import ASGIApp

class OperationSpan(Protocol):
    def errors(self, codes: Sequence[str]) -> None:
        """The answer carried GraphQL errors with these ``extensions.code`` values."""


class EventSpan(Protocol):
    """A subscription event's span: current inside ``with``, ended by :meth:`end`."""

    def __enter__(self) -> object: ...

    def __exit__(self, *exc: object) -> None: ...

    def end(self) -> None: ...


class Tracing(Protocol):
    """What the rest of the BFF asks of tracing (only ever built when it is on)."""

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """``app`` with a server span per HTTP request (websockets pass through)."""

    def instrument_client(self, client: httpx.AsyncClient, provider: str) -> None:
        """A client span per attempt of this provider's client."""

    def instrument_redis(self, redis: Redis | RedisCluster) -> None:
        """A client span per command or pipeline of this client."""

    def operation(self, name: str | None, kind: str) -> AbstractContextManager[OperationSpan]:
        """The span of one query or mutation, current inside the block."""

    def refused(self, name: str | None, kind: str, codes: Sequence[str]) -> None:
        """An operation refused before it ran (parse, validation, persisted queries)."""

    def subscribed(self, name: str | None) -> None:
        """A subscription joined its feed."""

    def event(self, name: str | None, traceparent: str | None) -> EventSpan:
        """A subscription event, a child of ``traceparent`` (the publisher's) if any."""

    def traceparent(self) -> str | None:
        """The current span as a W3C ``traceparent``, for a published message."""

    def span(self, name: str, attributes: Mapping[str, str]) -> AbstractContextManager[None]:
        """An internal span, current inside the block (a trace of its own if none is)."""

    def shutdown(self) -> None:
        """Send what is pending and stop."""


def open_tracing(settings: Settings, redact: Callable[[str], str]) -> Tracing | None:
    """Tracing as the ``OTEL_*`` variables ask (:meth:`Settings.trace_exporters`), or None
    when they do not; ``redact`` masks secrets in everything exported."""
    exporters = settings.trace_exporters()
    if not exporters:
        return None
    from bff.observability.otel import OtelTracing

    return OtelTracing(settings, exporters, redact)
