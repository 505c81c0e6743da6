"""Running an operation on graphql-core's public executor: a query or mutation once, a
subscription's source stream with each event executed once (its compiled plan when it
has one, else graphql-core)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from types import CoroutineType
from typing import Any, TypeGuard, cast

import orjson
import strawberry
from graphql import ExecutionResult, FragmentDefinitionNode, GraphQLError, OperationDefinitionNode
from graphql.execution import Executor, create_source_event_stream, execute_root_selection_set

from bff.errors import BFFError
from bff.graphql.engine.counting import Counting
from bff.graphql.engine.errors import formatted, shape
from bff.graphql.engine.feeds import Results
from bff.graphql.engine.marks import Marked, live_mark
from bff.graphql.engine.plans import FALLBACK, Fragments, Plan, compile_subscription
from bff.graphql.engine.query_plans import QueryPlan, RootResolver, compile_query
from bff.graphql.engine.request import Prepared
from bff.observability.tracing import Tracing
from bff.seams.strawberry import graphql_schema

#: Compiled plans kept, by document (documents are few; this bounds a flood of new ones).
PLANS_MAX = 256


#: Values a resolver returns that are never awaitable: graphql-core asks of every field.
_PLAIN: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), list, tuple, dict, set, frozenset, bytes}
)


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's ``is_awaitable`` with a fast path for the plain values most fields
    return (a history page asks it a few thousand times)."""
    return type(value) not in _PLAIN and (
        isinstance(value, CoroutineType) or hasattr(value, "__await__")
    )


def dumps(payload: object) -> str:
    """Compact JSON text (UTF-8 as it is, like browsers and Node; orjson: a live screen's
    payload in ~0.7 us instead of the standard library's ~7)."""
    return orjson.dumps(payload).decode()


class Execution:
    """How operations of one schema run."""

    def __init__(
        self,
        schema: strawberry.Schema,
        hide_suggestions: bool,
        counting: Counting,
        roots: Mapping[str, RootResolver] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.schema = schema
        self.tracing = tracing
        self.graphql = graphql_schema(schema)
        self.hide_suggestions = hide_suggestions
        self.counting = counting
        self.roots = roots or {}
        self._plans: dict[int, tuple[OperationDefinitionNode, Any]] = {}

    def executor(self, prepared: Prepared, context: Any, root: Any = None) -> Any:
        """graphql-core's executor for the operation, or its request errors (variables
        that do not coerce: the client's input, ``BAD_USER_INPUT``)."""
        built = Executor.build(
            self.graphql,
            prepared.document,
            root_value=root,
            context_value=context,
            raw_variable_values=prepared.variables,
            operation_name=prepared.name,
            hide_suggestions=self.hide_suggestions,
            is_awaitable=is_awaitable,
        )
        if isinstance(built, list):
            return [_user_input(e) for e in built]
        return built

    async def results(self, prepared: Prepared, context: Any) -> Results:
        """A feed's results: the subscription's source stream, each event executed once."""
        executor = self.executor(prepared, context)
        if isinstance(executor, list):
            yield None, self._failure(executor)
            return
        opened: Any = create_source_event_stream(executor)
        if executor.is_awaitable(opened):
            opened = await opened
        if isinstance(opened, ExecutionResult):
            yield None, self._failure(opened.errors or [])
            return
        source = cast(AsyncIterator[Any], opened)
        plan = self.plan(prepared)
        tracing = self.tracing
        order = 0
        try:
            async with aclosing(source):  # type: ignore[type-var]
                async for event in source:
                    order += 1
                    marked = live_mark(event) or Marked("", (order,), time.time())
                    if tracing is not None:
                        # A child of the span that published the update (a webhook's,
                        # a poll's, a mutation's), open until the feed has delivered it.
                        span = tracing.event(prepared.name, marked.trace)
                        try:
                            with span:
                                text = await self._render(prepared, context, event, plan)
                            yield marked, text
                        finally:
                            span.end()
                        continue
                    data = plan(event) if plan is not None else FALLBACK
                    if data is not FALLBACK:
                        yield marked, dumps({"data": data})
                        continue
                    yield marked, await self._event(prepared, context, event)
        except GraphQLError as exc:
            yield None, self._failure([exc])
        except BFFError as exc:
            yield None, self._failure([GraphQLError(exc.message, original_error=exc)])
        except Exception as exc:  # shaped and masked, as any resolver error
            yield None, self._failure([GraphQLError(str(exc), original_error=exc)])

    async def _render(
        self, prepared: Prepared, context: Any, event: Any, plan: Plan | None
    ) -> str:
        """One event's payload: its plan's, else graphql-core's (the loop above inlines
        this when tracing is off)."""
        data = plan(event) if plan is not None else FALLBACK
        if data is not FALLBACK:
            return dumps({"data": data})
        return await self._event(prepared, context, event)

    async def _event(self, prepared: Prepared, context: Any, event: Any) -> str:
        """One event the plan does not cover, through graphql-core (its own executor:
        nothing it memoizes outlives the event)."""
        executor = self.executor(prepared, context, root=event)
        outcome: Any = (
            executor.execute_operation(False)
            if not isinstance(executor, list)
            else (ExecutionResult(None, executor))
        )
        if not isinstance(executor, list) and executor.is_awaitable(outcome):
            outcome = await outcome
        result = cast(ExecutionResult, outcome)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            shaped = [shape(e) for e in result.errors]
            self.counting.errors(shaped)
            payload["errors"] = formatted(shaped)
        return dumps(payload)

    def _failure(self, errors: Sequence[GraphQLError]) -> str:
        shaped = [shape(e) for e in errors]
        self.counting.errors(shaped)
        return dumps({"data": None, "errors": formatted(shaped)})

    async def run(self, prepared: Prepared, context: Any) -> ExecutionResult:
        """A query or mutation: its compiled plan when it has one that answers, else
        graphql-core."""
        plan = self.query_plan(prepared)
        if plan is not None:
            data = await plan(context, prepared.variables)
            if data is not FALLBACK:
                return ExecutionResult(data, None)
        executor = self.executor(prepared, context)
        if isinstance(executor, list):
            return ExecutionResult(None, executor)
        outcome: Any = execute_root_selection_set(executor)
        if executor.is_awaitable(outcome):
            outcome = await outcome
        return cast(ExecutionResult, outcome)

    def plan(self, prepared: Prepared) -> Plan | None:
        """The compiled plan of a subscription's events (cached), or None."""
        return cast(Plan | None, self._cached(prepared, self._compile_subscription))

    def query_plan(self, prepared: Prepared) -> QueryPlan | None:
        """The compiled plan of a query (cached), or None."""
        return cast(QueryPlan | None, self._cached(prepared, self._compile_query))

    def _compile_subscription(self, op: OperationDefinitionNode, fragments: Fragments) -> Any:
        return compile_subscription(self.schema, op, fragments)

    def _compile_query(self, op: OperationDefinitionNode, fragments: Fragments) -> Any:
        return compile_query(self.schema, op, fragments, self.roots, self.hide_suggestions)

    def _cached(
        self, prepared: Prepared, compile: Callable[[OperationDefinitionNode, Fragments], Any]
    ) -> Any:
        op = prepared.operation
        entry = self._plans.get(id(op))
        if entry is not None and entry[0] is op:
            return entry[1]
        fragments = {
            d.name.value: d
            for d in prepared.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        plan = compile(op, fragments)
        if len(self._plans) >= PLANS_MAX:
            self._plans.clear()
        self._plans[id(op)] = (op, plan)
        return plan


def _user_input(error: GraphQLError) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error
    return GraphQLError(
        error.message, error.nodes, error.source, error.positions, error.path,
        error.original_error, {**(error.extensions or {}), "code": "BAD_USER_INPUT"},
    )  # fmt: skip
