"""The engine: every GraphQL operation, from any transport, runs through here.

    prepare     persisted queries, size and token limits, parse and validate (cached per
                query text), the operation chosen as the spec says, what the transport
                may run -> a :class:`~bff.graphql.engine.request.Prepared` or an answer
    execute     a query or mutation on graphql-core's public executor -> an answer
    subscribe   a subscription joins its feed (:mod:`~bff.graphql.engine.feeds`): one
                run per distinct (operation, variables, driver), each update executed
                once (compiled when it can be: :mod:`~bff.graphql.engine.plans`)

Strawberry defines the schema (types and resolvers); graphql-core executes it. Errors are
shaped in one place (:mod:`~bff.graphql.engine.errors`) and operations counted in one
(:mod:`~bff.graphql.engine.counting`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)

from bff.errors import BadRequest, PersistedQueryRefused
from bff.graphql.engine.counting import Counting
from bff.graphql.engine.documents import KnownDocuments, validation_rules
from bff.graphql.engine.errors import formatted, provider_errors, request_error, shape, told
from bff.graphql.engine.execution import Execution
from bff.graphql.engine.feeds import FeedKey, Feeds, Sink
from bff.graphql.engine.persisted import PersistedQueries
from bff.graphql.engine.query_plans import RootResolver
from bff.graphql.engine.request import GraphQLRequest, Prepared
from bff.observability.metrics import Metrics
from bff.observability.tracing import Tracing
from bff.seams.strawberry import graphql_schema

log = logging.getLogger(__name__)

#: What each transport may run (GraphQL over HTTP: no mutation over GET; subscriptions
#: need the websocket).
QUERY_ONLY = frozenset({OperationType.QUERY})
HTTP = frozenset({OperationType.QUERY, OperationType.MUTATION})
ANY = frozenset(OperationType)

#: Compiled plans kept, by document (documents are few; this bounds a flood of new ones).
PLANS_MAX = 256


@dataclass(frozen=True, slots=True)
class Limits:
    max_tokens: int = 2000
    max_depth: int = 12
    max_aliases: int = 30
    introspection: bool = True


@dataclass(slots=True)
class Answer:
    """A response that is not a stream: the payload as the client sees it."""

    payload: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.payload.get("errors") or ())


class Engine:
    """One per app: the schema, its known documents, the feeds of this process."""

    def __init__(
        self,
        schema: strawberry.Schema,
        limits: Limits,
        metrics: Metrics | None = None,
        persisted: PersistedQueries | None = None,
        roots: Mapping[str, RootResolver] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        """``roots``: root fields a compiled query may resolve without graphql-core;
        ``tracing``: a span per operation and per subscription event (None: off)."""
        self.schema = schema
        self.graphql: GraphQLSchema = graphql_schema(schema)
        self.limits = limits
        self.hide_suggestions = not limits.introspection
        self.documents = KnownDocuments(
            self.graphql,
            validation_rules(limits.max_depth, limits.max_aliases, limits.introspection),
            max_tokens=limits.max_tokens,
            hide_suggestions=self.hide_suggestions,
        )
        self.counting = Counting(metrics)
        self.tracing = tracing
        self.execution = Execution(schema, self.hide_suggestions, self.counting, roots, tracing)
        self.persisted = persisted
        self.feeds = Feeds()

    # -- before running ----------------------------------------------------------------

    async def prepare(
        self, request: GraphQLRequest, allowed: Collection[OperationType] = ANY
    ) -> Prepared | Answer:
        """The operation to run, or the answer that refuses it (nothing ran)."""
        try:
            prepared = await self._prepare(request, allowed)
        except PersistedQueryRefused as exc:
            return self._refused(request, [request_error(exc)], exc.status_code)
        except BadRequest as exc:
            return self._refused(request, [request_error(exc)], exc.status_code)
        except GraphQLError as exc:
            return self._refused(request, [exc], 200)
        return prepared

    async def _prepare(
        self, request: GraphQLRequest, allowed: Collection[OperationType]
    ) -> Prepared | Answer:
        query, register = request.query, None
        if self.persisted is not None:
            resolved = await self.persisted.resolve(query, request.extensions)
            query, register = resolved.query, resolved.register
        elif query is None and _asks_persisted(request.extensions):
            # Apollo's link turns itself off on this code instead of failing.
            raise PersistedQueryRefused(
                "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", 200
            )
        if not query:
            raise BadRequest("no GraphQL query found in the request")
        document = self.documents.parse(query)
        operation = _operation(document, request.operation_name)
        errors = self.documents.validate(query, document)
        kind = operation.operation
        if errors:
            return self._refused(request, errors, 200, kind)
        if kind not in allowed:
            return self._refused(request, *_not_allowed(kind), kind)
        # One copy of the text for everything that keeps it (feed keys, plans).
        return Prepared(sys.intern(query), document, operation, request.variables, register)

    def _refused(
        self,
        request: GraphQLRequest,
        errors: Sequence[GraphQLError],
        status: int,
        kind: OperationType | None = None,
    ) -> Answer:
        shaped = [shape(e) for e in errors]
        self.counting.refused(request.operation_name, kind.value if kind else "unknown", shaped)
        if self.tracing is not None:
            self.tracing.refused(
                request.operation_name, kind.value if kind else "unknown", _codes(shaped)
            )
        for error in shaped:
            told(str((error.extensions or {}).get("code")), error.message)
        return Answer({"data": None, "errors": formatted(shaped)}, status)

    # -- queries and mutations ---------------------------------------------------------

    async def execute(
        self, prepared: Prepared, context: Any, failures: Any = None, *, trusted: bool = False
    ) -> Answer:
        """Run a query or mutation; ``failures`` (a mapping of provider -> error, read
        after the run) adds ``PROVIDER_UNAVAILABLE`` errors next to partial data."""
        if self.tracing is not None:
            with self.tracing.operation(prepared.name, prepared.kind.value) as span:
                answer = await self._execute(prepared, context, failures, trusted)
                span.errors(_codes(answer.errors))
            return answer
        return await self._execute(prepared, context, failures, trusted)

    async def _execute(
        self, prepared: Prepared, context: Any, failures: Any, trusted: bool
    ) -> Answer:
        started = time.perf_counter()
        result = await self.execution.run(prepared, context)
        errors = [shape(e) for e in result.errors or ()]
        if failures and result.data is not None:
            errors.extend(provider_errors(failures))
        payload: dict[str, Any] = {"data": result.data}
        if errors:
            payload["errors"] = formatted(errors)
        seconds = time.perf_counter() - started
        self.counting.ran(prepared.name, prepared.kind.value, seconds, errors, trusted)
        if prepared.register and self.persisted is not None and not _coercion_failed(result):
            await self.persisted.register(prepared.register, prepared.query)
        return Answer(payload)

    # -- subscriptions -----------------------------------------------------------------

    def subscribe(self, prepared: Prepared, who: str, context: Any) -> Sink:
        """Join the feed of this subscription for ``who`` (the driver); ``context`` is
        used if the feed has to start. The caller attaches the sink, and gives it back
        with :meth:`leave`."""
        variables = json.dumps(prepared.variables or {}, sort_keys=True, separators=(",", ":"))
        key: FeedKey = (prepared.query, prepared.name, variables, who)
        self.counting.subscribed(prepared.name)
        if self.tracing is not None:
            self.tracing.subscribed(prepared.name)
        return self.feeds.join(key, lambda: self.execution.results(prepared, context))

    def leave(self, sink: Sink, prepared: Prepared) -> None:
        self.feeds.leave(sink)
        self.counting.unsubscribed(prepared.name)


def _codes(errors: Sequence[GraphQLError] | Sequence[dict[str, Any]]) -> list[str]:
    """The errors' ``extensions.code`` values (shaped errors or their JSON)."""
    out = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else error.extensions
        out.append(str((extensions or {}).get("code") or "UNKNOWN"))
    return out


def _operation(document: Any, name: str | None) -> OperationDefinitionNode:
    """The operation to run, as the spec's GetOperation says (errors as graphql-core's,
    with Apollo's code for them)."""
    operation = get_operation_ast(document, name)
    if operation is not None:
        return operation
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        message = f"Unknown operation named '{name}'."
    elif len(operations) > 1:
        message = "Must provide operation name if query contains multiple operations."
    else:
        message = "Must provide an operation."
    raise GraphQLError(message, extensions={"code": "OPERATION_RESOLUTION_FAILURE"})


def _not_allowed(kind: OperationType) -> tuple[list[GraphQLError], int]:
    """GraphQL over HTTP: a subscription needs the websocket (a well-formed request:
    200); a mutation over GET is 405."""
    if kind is OperationType.SUBSCRIPTION:
        message = (
            "Subscriptions are served over the websocket (graphql-transport-ws), not over HTTP."
        )
        return [GraphQLError(message, extensions={"code": "BAD_REQUEST"})], 200
    message = "Mutations are sent with POST, not GET."
    return [GraphQLError(message, extensions={"code": "BAD_REQUEST"})], 405


def _coercion_failed(result: ExecutionResult) -> bool:
    """The run never started: its variables did not coerce (nothing to register)."""
    return result.data is None and any(
        (e.extensions or {}).get("code") == "BAD_USER_INPUT" and not e.path
        for e in result.errors or ()
    )


def _asks_persisted(extensions: dict[str, Any] | None) -> bool:
    return isinstance(extensions, dict) and "persistedQuery" in extensions
