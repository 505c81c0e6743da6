"""Reads executed by a plan compiled once per document: a query whose root fields the
schema layer can resolve without graphql-core (``node(id:)``), its selection completed by
the same compiled completers as subscription events (:mod:`.plans`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import strawberry
from graphql import FieldNode, OperationDefinitionNode
from graphql.execution import get_argument_values, get_variable_values

from bff.graphql.engine.plans import FALLBACK, Compiler, Fragments, collect
from bff.seams.strawberry import graphql_schema

#: How a compiled query resolves a root field as the schema's own resolver would:
#: ``await resolve(context, arguments)`` (the schema layer names them:
#: :data:`bff.graphql.schema.ROOT_RESOLVERS`).
RootResolver = Callable[[Any, dict[str, Any]], Awaitable[Any]]
#: ``await plan(context, variables)``: the response's ``data``, or :data:`FALLBACK`.
QueryPlan = Callable[[Any, dict[str, Any] | None], Awaitable[Any]]


def compile_query(
    schema: strawberry.Schema,
    operation: OperationDefinitionNode,
    fragments: Fragments,
    roots: Mapping[str, RootResolver],
    hide_suggestions: bool = False,
) -> QueryPlan | None:
    """The plan of a query whose root fields are ``__typename`` or have a root resolver
    and whose selections compile; None otherwise. A plan answers :data:`FALLBACK` on any
    surprise (variables that do not coerce, a resolver that raises, a value it cannot
    complete): graphql-core then runs the query and reports the error its way."""
    gql = graphql_schema(schema)
    root = gql.query_type
    if root is None or operation.operation.value != "query":
        return None
    fields = collect(root, [operation.selection_set], fragments, arguments=True)
    if fields is None:
        return None
    compiler = Compiler(schema, fragments)
    entries: list[tuple[str, Any, FieldNode | None, RootResolver | None, Any]] = []
    for key, nodes in fields.items():
        name = nodes[0].name.value
        if name == "__typename":
            entries.append((key, None, None, None, root.name))
            continue
        field, resolve = root.fields.get(name), roots.get(name)
        if field is None or resolve is None or len(nodes) > 1:
            return None
        complete = compiler.completer(field.type, nodes)
        if complete is None:
            return None
        entries.append((key, field, nodes[0], resolve, complete))
    definitions = operation.variable_definitions or ()

    async def plan(context: Any, inputs: dict[str, Any] | None) -> Any:
        variables = get_variable_values(
            gql, definitions, inputs or {}, hide_suggestions=hide_suggestions
        )
        if isinstance(variables, list):
            return FALLBACK
        out: dict[str, Any] = {}
        try:
            for key, field, node, resolve, complete in entries:
                if resolve is None:
                    out[key] = complete
                    continue
                assert node is not None
                arguments = get_argument_values(field, node, variables)
                out[key] = complete(await resolve(context, arguments))
        except Exception:
            return FALLBACK
        return out

    return plan
