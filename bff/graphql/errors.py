"""Errors as clients see them: a message and ``extensions.code``, never internals.

- A :class:`bff.errors.BFFError` keeps its message and gains its code (and provider,
  field or retry hint).
- Any other exception from a resolver is masked as ``INTERNAL_SERVER_ERROR`` and logged.
- Errors without an original error (syntax, validation) stay readable.
- Providers that failed during an otherwise answered request add one
  ``PROVIDER_UNAVAILABLE`` error each, next to the partial data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from bff.errors import BFFError, InvalidInput, ProviderError, ProviderRateLimited, RateLimited

log = logging.getLogger(__name__)


def to_graphql_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        ext = dict(error.extensions or {})
        ext.setdefault(
            "code",
            "GRAPHQL_PARSE_FAILED"
            if "Syntax Error" in error.message
            else "GRAPHQL_VALIDATION_FAILED",
        )
        return GraphQLError(
            error.message, error.nodes, error.source, error.positions, error.path, None, ext
        )
    if isinstance(original, GraphQLError):
        return to_graphql_error(original) if original.original_error else original
    if isinstance(original, BFFError):
        return GraphQLError(
            original.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            extensions_for(original),
        )
    log.error("unhandled resolver error", exc_info=original)
    return GraphQLError(
        "Internal server error",
        error.nodes,
        error.source,
        error.positions,
        error.path,
        None,
        {"code": "INTERNAL_SERVER_ERROR"},
    )


def extensions_for(error: BFFError) -> dict[str, Any]:
    ext: dict[str, Any] = {"code": error.code}
    if isinstance(error, ProviderError):
        ext["provider"] = error.provider
    if isinstance(error, InvalidInput) and error.field:
        ext["field"] = error.field
    if isinstance(error, RateLimited | ProviderRateLimited):
        ext["retryAfterSeconds"] = error.retry_after_seconds
    return ext


def as_graphql_error(error: BFFError) -> GraphQLError:
    """For code paths the extension does not see (errors inside subscription streams)."""
    return GraphQLError(error.message, extensions=extensions_for(error))


class ErrorShaping(SchemaExtension):
    """Shapes every error of an operation (see the module docstring)."""

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Websocket results (each subscription event, and the error that ends a stream)
        # are sent before ``on_operation`` unwinds: shape them on their way out.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [to_graphql_error(e) for e in errors]
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None:
            return
        errors = [to_graphql_error(e) for e in (result.errors or [])]
        context = self.execution_context.context
        failures = getattr(context, "failures", None)
        if failures is not None and failures.errors and result.data is not None:
            for provider, exc in failures.errors.items():
                errors.append(
                    GraphQLError(
                        f"{provider.value} is unavailable; showing the other providers' data",
                        extensions={
                            "code": "PROVIDER_UNAVAILABLE",
                            "provider": provider.value,
                            "reason": exc.code,
                        },
                    )
                )
            failures.errors.clear()
        result.errors = errors or None
