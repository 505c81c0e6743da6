"""Errors as clients see them: a message and ``extensions.code``, never internals.

The one place errors are shaped, for queries, mutations and subscriptions alike:

- syntax errors get ``GRAPHQL_PARSE_FAILED``; validation and other request errors
  without an original error ``GRAPHQL_VALIDATION_FAILED`` (unless they carry a code);
- a :class:`bff.errors.BFFError` keeps its message and gains its code (and provider,
  field or retry hint);
- any other exception from a resolver is masked as ``INTERNAL_SERVER_ERROR`` and logged
  at ERROR with its traceback; client mistakes are not errors of ours (INFO, no trace);
- providers that failed during an otherwise answered request add one
  ``PROVIDER_UNAVAILABLE`` error each, next to the partial data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from bff.errors import BFFError, InvalidInput, ProviderError, ProviderRateLimited, RateLimited

log = logging.getLogger(__name__)


def shape(error: GraphQLError) -> GraphQLError:
    """``error`` as the client may see it."""
    original = error.original_error
    if original is None:
        ext = dict(error.extensions or {})
        if "code" not in ext:
            syntax = isinstance(error, GraphQLSyntaxError) or "Syntax Error" in error.message
            ext["code"] = "GRAPHQL_PARSE_FAILED" if syntax else "GRAPHQL_VALIDATION_FAILED"
        return _copy(error, error.message, ext)
    if isinstance(original, GraphQLError):
        return shape(original) if original.original_error else original
    if isinstance(original, BFFError):
        told(original.code, original.message)
        return _copy(error, original.message, extensions_for(original))
    log.error("unhandled resolver error", exc_info=original)
    return _copy(error, "Internal server error", {"code": "INTERNAL_SERVER_ERROR"})


def told(code: str, message: str) -> None:
    """A client's mistake or an expected refusal: one INFO line with its code."""
    log.info("graphql error %s: %s", code, message, extra={"code": code})


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path, None, extensions
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


def request_error(error: BFFError) -> GraphQLError:
    """A request-level error (before execution) with its code."""
    return GraphQLError(error.message, extensions=extensions_for(error))


def provider_errors(failures: Mapping[Any, ProviderError]) -> list[GraphQLError]:
    """One ``PROVIDER_UNAVAILABLE`` error per provider that failed during a request."""
    return [
        GraphQLError(
            f"{exc.provider} is unavailable; showing the other providers' data",
            extensions={
                "code": "PROVIDER_UNAVAILABLE",
                "provider": exc.provider,
                "reason": exc.code,
            },
        )
        for exc in failures.values()
    ]


def formatted(errors: Iterable[GraphQLError]) -> list[dict[str, Any]]:
    return [dict(e.formatted) for e in errors]


def codes(errors: Iterable[GraphQLError]) -> list[str]:
    return [str((e.extensions or {}).get("code", "UNKNOWN")) for e in errors]
