"""The schema and its extensions, built once per app from the settings."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig

from bff.graphql.documents import DocumentCache, KnownDocuments, stable_rules
from bff.graphql.errors import ErrorShaping, LoggedSchema
from bff.graphql.executor import LiveExecutor
from bff.graphql.metrics import OperationMetrics
from bff.graphql.mutations.sessions import Mutation
from bff.graphql.queries import Query
from bff.graphql.subscriptions import Subscription
from bff.graphql.types.charger import Charger, Connector
from bff.graphql.types.session import ChargingSession
from bff.observability.metrics import Metrics
from bff.settings import Settings


def build_schema(
    settings: Settings | None = None, metrics: Metrics | None = None
) -> strawberry.Schema:
    settings = settings or Settings()
    documents = KnownDocuments()
    # Built once: new rule classes per request would defeat the validation cache.
    rules = stable_rules(
        settings.max_query_depth,
        settings.max_aliases,
        [] if settings.introspection else [NoSchemaIntrospectionCustomRule],
    )
    extensions: list[Any] = [
        # First, so that it unwinds last and sees the errors ErrorShaping gave codes.
        *([lambda: OperationMetrics(metrics)] if metrics is not None else []),
        ErrorShaping,
        lambda: DocumentCache(documents),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
    ]
    return LoggedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[ChargingSession, Charger, Connector],
        extensions=extensions,
        execution_context_class=LiveExecutor,
        # Without introspection, "Did you mean ...?" would hand out the schema piecemeal.
        config=StrawberryConfig(disable_field_suggestions=not settings.introspection),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
