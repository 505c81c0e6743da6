"""Errors as clients see them: a message and ``extensions.code``, never internals.

- A :class:`bff.errors.BFFError` keeps its message and gains its code (and provider,
  field or retry hint).
- Any other exception from a resolver is masked as ``INTERNAL_SERVER_ERROR`` and logged
  at ERROR with its traceback (once, as it is masked).
- Errors without an original error (syntax, validation) stay readable.
- Providers that failed during an otherwise answered request add one
  ``PROVIDER_UNAVAILABLE`` error each, next to the partial data.

Strawberry logs every error of a result at ERROR with its traceback; :class:`LoggedSchema`
replaces that: what the client got wrong or was refused (syntax, validation,
``UNAUTHENTICATED``, ``NOT_FOUND``, any :class:`~bff.errors.BFFError`) is one INFO line
with its code and no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from bff.errors import BFFError, InvalidInput, ProviderError, ProviderRateLimited, RateLimited

log = logging.getLogger(__name__)


def _unshaped_code(error: GraphQLError) -> str:
    """The code of an error graphql-core raised itself (no original error)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    syntax = "Syntax Error" in error.message
    return "GRAPHQL_PARSE_FAILED" if syntax else "GRAPHQL_VALIDATION_FAILED"


def to_graphql_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        ext = dict(error.extensions or {})
        ext["code"] = _unshaped_code(error)
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


def client_error_code(error: GraphQLError) -> str | None:
    """The code of an error that is the client's to fix or expected (shaped or not),
    None for an unexpected one (masked as ``INTERNAL_SERVER_ERROR``)."""
    original = error.original_error
    while isinstance(original, GraphQLError):
        error, original = original, original.original_error
    if isinstance(original, BFFError):
        return original.code
    if original is not None:
        return None
    code = _unshaped_code(error)
    return None if code == "INTERNAL_SERVER_ERROR" else code


class LoggedSchema(strawberry.Schema):
    """Strawberry's schema, logging errors our way (see the module docstring)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            code = client_error_code(error)
            # Unexpected errors are logged, with their traceback, by to_graphql_error.
            if code is not None:
                log.info("graphql error %s: %s", code, error.message, extra={"code": code})


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
