"""The schema and its extensions, built once per app from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from bff.graphql.errors import ErrorShaping
from bff.graphql.metrics import OperationMetrics
from bff.graphql.mutations.sessions import Mutation
from bff.graphql.queries import Query
from bff.graphql.subscriptions import Subscription
from bff.graphql.types.charger import Charger, Connector
from bff.graphql.types.session import ChargingSession
from bff.observability.metrics import Metrics
from bff.settings import Settings


class SafeParserCache(ParserCache):
    """ParserCache raises on a syntax error in a subscription instead of closing with 4400;
    turn the raise into the error result the protocol handler expects."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        try:
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        except GraphQLError:
            ctx.graphql_document = None  # Strawberry parses again and reports it properly
        yield


def build_schema(
    settings: Settings | None = None, metrics: Metrics | None = None
) -> strawberry.Schema:
    settings = settings or Settings()
    extensions: list[Any] = [
        # First, so that it unwinds last and sees the errors ErrorShaping gave codes.
        *([lambda: OperationMetrics(metrics)] if metrics is not None else []),
        ErrorShaping,
        SafeParserCache,
        ValidationCache,
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
    ]
    if not settings.introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[ChargingSession, Charger, Connector],
        extensions=extensions,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
