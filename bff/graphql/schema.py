"""The schema and its extensions, built once per app from the settings."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.execution import Executor
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter

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


class QuietExecutor(LiveExecutor):
    """:class:`LiveExecutor` that coerces variables (and arguments, and directives)
    without "Did you mean ...?": graphql-core's ``hide_suggestions``, which Strawberry
    does not pass on, set where every execution and subscription builds its executor."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor[Any]:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})


def build_schema(
    settings: Settings | None = None, metrics: Metrics | None = None
) -> strawberry.Schema:
    settings = settings or Settings()
    documents = KnownDocuments()
    # Without introspection, "Did you mean ...?" would hand out the schema piecemeal:
    # no suggestions in validation nor in the coercion of variables.
    quiet = not settings.introspection
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
        lambda: DocumentCache(documents, hide_suggestions=quiet),
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
    ]
    return LoggedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[ChargingSession, Charger, Connector],
        extensions=extensions,
        execution_context_class=QuietExecutor if quiet else LiveExecutor,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
