"""Private parts of Strawberry (strawberry-graphql 0.341.2).

- :func:`graphql_schema`: ``Schema._schema``, the graphql-core schema Strawberry builds.
  Strawberry defines the types and resolvers; the engine (:mod:`bff.graphql.engine`)
  executes on graphql-core's public API, which needs that object. There is no public
  accessor.
- :func:`field_reader`: how a compiled plan reads a field from its parent without an
  ``Info``: the field definition's resolver (``base_resolver``, ``wrapped_func`` and its
  parameter introspection). Compiled subscription events are ~60% cheaper than
  graphql-core's generic walk (bench: subscriptions, CPU per delivery).
- :func:`field_nodes`: ``Info._raw_info.field_nodes``, the document's nodes of the field
  being resolved, for look-ahead (which sub-fields a page selects) without converting the
  whole selection as ``Info.selected_fields`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import strawberry
from graphql import FieldNode, GraphQLSchema

from bff.seams import require

require("strawberry-graphql", "0.341.2", __name__)

Reader = Callable[[Any], Any]


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema behind ``schema`` (same resolvers, same types)."""
    schema_: GraphQLSchema = schema._schema
    return schema_


def field_nodes(info: strawberry.Info[Any, Any]) -> Sequence[FieldNode]:
    """The document's nodes of the field being resolved."""
    return cast(Sequence[FieldNode], info._raw_info.field_nodes)


def is_subscription_field(schema: strawberry.Schema, type_name: str, field_name: str) -> bool:
    """Whether the field is a Strawberry subscription (it resolves each event to itself)."""
    field = schema.get_field_for_type(field_name, type_name)
    return field is not None and bool(field.is_subscription)


def field_reader(schema: strawberry.Schema, type_name: str, field_name: str) -> Reader | None:
    """``read(parent) -> value`` as Strawberry would resolve the field, for fields that
    need nothing but their parent: no arguments, no field extensions, a synchronous
    resolver taking only ``self`` (or none: the attribute). None for anything else."""
    field = schema.get_field_for_type(field_name, type_name)
    if field is None or field.extensions or field.arguments:
        return None
    resolver = field.base_resolver
    if resolver is None:
        default, name = field.default_resolver, field.python_name
        return lambda source: default(source, name)
    if (
        resolver.is_async
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or resolver.self_parameter is None
    ):
        return None
    return cast(Reader, resolver.wrapped_func)
