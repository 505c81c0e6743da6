"""What leaves the process when tracing is on: which spans are sampled
(:class:`OrphanClientsDropped`) and what their text may say (:class:`Redacting`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, Status
from opentelemetry.util.types import Attributes, AttributeValue


class OrphanClientsDropped(Sampler):
    """Client spans (a provider call, a Redis command) outside any trace are not kept:
    background housekeeping (the Redis checks, a poll round's bookkeeping) is no trace
    of its own. Everything else is the configured sampler's call."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT and not _has_parent(parent_context):
            return SamplingResult(Decision.DROP)
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"OrphanClientsDropped{{{self.inner.get_description()}}}"


def _has_parent(parent_context: Context | None) -> bool:
    ctx = parent_context if parent_context is not None else otel_context.get_current()
    return trace.get_current_span(ctx).get_span_context().is_valid


class Redacting(SpanExporter):
    """Passes spans on with every name, string attribute (of the span and its events) and
    status text through ``redact``: whatever an instrumentation recorded (a provider
    URL with a session token in its path, a query string), no secret leaves."""

    def __init__(self, inner: SpanExporter, redact: Callable[[str], str]) -> None:
        self.inner = inner
        self.redact = redact

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self._clean(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def _clean(self, span: ReadableSpan) -> ReadableSpan:
        status = span.status
        if status.description:
            status = Status(status.status_code, self.redact(status.description))
        return ReadableSpan(
            name=self.redact(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=[
                Event(e.name, self._attributes(e.attributes), e.timestamp) for e in span.events
            ],
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _attributes(self, attributes: Attributes) -> dict[str, AttributeValue]:
        out: dict[str, AttributeValue] = {}
        for key, value in (attributes or {}).items():
            if isinstance(value, str):
                out[key] = self.redact(value)
            elif isinstance(value, tuple | list) and any(isinstance(v, str) for v in value):
                out[key] = [self.redact(v) if isinstance(v, str) else v for v in value]
            else:
                out[key] = value
        return out
