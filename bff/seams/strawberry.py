"""Private parts of Strawberry (strawberry-graphql 0.341.2).

- :func:`graphql_schema`: ``Schema._schema``, the graphql-core schema Strawberry builds.
  Strawberry defines the types and resolvers; the engine (:mod:`bff.graphql.engine`)
  executes on graphql-core's public API, which needs that object. There is no public
  accessor.
- :func:`field_reader`: how a compiled plan reads a field from its parent without an
  ``Info``: the field definition's resolver (``base_resolver``, ``wrapped_func`` and its
  parameter introspection). Compiled subscription events are ~60% cheaper than
  graphql-core's generic walk (bench: subscriptions, CPU per delivery).
- :func:`plain_field`: a computed field declared as a synchronous method taking only
  ``self`` and resolved like a stored attribute: the field's class is swapped for a
  subclass overriding ``is_basic_field`` and ``get_result``, so graphql-core reads it
  from its parent without Strawberry's ``Info``, argument conversion and extension
  wrapping per call (bench: queries, SessionHistory and SessionDetail req/s).
- :func:`field_nodes`: ``Info._raw_info.field_nodes``, the document's nodes of the field
  being resolved, for look-ahead (which sub-fields a page selects) without converting the
  whole selection as ``Info.selected_fields`` does.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import strawberry
from graphql import FieldNode, GraphQLSchema
from strawberry.types.field import StrawberryField

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


T = TypeVar("T")


class _PlainField(StrawberryField):
    """A Strawberry field whose resolver is called as ``resolver(parent)``."""

    @property
    def is_basic_field(self) -> bool:
        return not self.extensions

    def get_result(
        self, source: Any, info: Any, args: list[Any], kwargs: Any
    ) -> Awaitable[Any] | Any:
        resolver = self.base_resolver
        if resolver is None:  # pragma: no cover - plain_field always has one
            return super().get_result(source, info, args, kwargs)
        return cast(Callable[[Any], Any], resolver.wrapped_func)(source)


def plain_field(*, description: str | None = None) -> Callable[[Callable[[Any], T]], T]:
    """Like ``@strawberry.field(description=...)`` on a synchronous method that takes
    only ``self``, resolved without Strawberry's per-call wrapping (see the module)."""

    def declare(method: Callable[[Any], T]) -> T:
        params = list(inspect.signature(method).parameters)
        if inspect.iscoroutinefunction(method) or params != ["self"]:
            raise TypeError(
                f"plain_field needs a synchronous method taking only self: {method.__name__}"
            )
        field = cast(Any, strawberry.field(resolver=method, description=description))
        field.__class__ = _PlainField
        return cast(T, field)

    return declare
