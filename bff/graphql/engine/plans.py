"""Subscription events and reads executed by a plan compiled once per document.

graphql-core walks the document for every event, and Strawberry wraps every resolver
call in an ``Info``, an argument conversion and its field extensions: about 60% of the
CPU of a delivery. A plan walks the selection once, at compile time, into nested closures
that read each field as Strawberry would (:func:`bff.seams.strawberry.field_reader`) and
coerce leaves exactly as graphql-core does.

Only the plain case compiles: object, abstract (chosen by ``is_type_of``) and leaf types,
lists, non-null; fields without arguments whose resolvers are synchronous and take only
``self``; fragments; no directives (reads: :mod:`.query_plans`). Anything else, and any
surprise at run time (a resolver that raises or returns a coroutine, a null where the
schema says non-null), answers :data:`FALLBACK`: the event then runs through graphql-core,
which reports the error the standard way. ``tests/graphql/test_plans.py`` checks plans
against graphql-core on every contract operation that compiles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from types import CoroutineType
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Undefined

from bff.seams.strawberry import field_reader, graphql_schema, is_subscription_field

#: What a plan answers when graphql-core must execute the event instead.
FALLBACK: Any = object()

Plan = Callable[[Any], Any]
Complete = Callable[[Any], Any]
Fragments = dict[str, FragmentDefinitionNode]

#: graphql-core's ``is_type_of`` takes an info that Strawberry's does not read.
_NO_INFO: Any = None


class _Fallback(Exception):
    pass


def compile_subscription(
    schema: strawberry.Schema, operation: OperationDefinitionNode, fragments: Fragments
) -> Plan | None:
    """The plan of a subscription operation's events, or None when it does not compile."""
    root = graphql_schema(schema).subscription_type
    if root is None:
        return None
    # The root field's arguments are the subscription's own (already used by subscribe).
    fields = collect(root, [operation.selection_set], fragments, arguments=True)
    if fields is None:
        return None
    entries: list[tuple[str, Complete]] = []
    for key, nodes in fields.items():
        name = nodes[0].name.value
        field = root.fields.get(name)
        # A Strawberry subscription field resolves each event to the event itself.
        if field is None or not is_subscription_field(schema, root.name, name):
            return None
        complete = Compiler(schema, fragments).completer(field.type, nodes)
        if complete is None:
            return None
        entries.append((key, complete))

    def plan(event: Any) -> Any:
        try:
            return {key: complete(event) for key, complete in entries}
        except Exception:
            return FALLBACK

    return plan


def collect(
    type_: GraphQLObjectType,
    sets: Iterable[SelectionSetNode | None],
    fragments: Fragments,
    *,
    arguments: bool = False,
    applies: Callable[[str], bool | None] | None = None,
) -> dict[str, list[FieldNode]] | None:
    """Fields by response key, in order, through fragments whose type condition applies
    to ``type_`` (``applies(condition)``: True, False to skip the fragment, None when it
    cannot tell; by default only ``type_`` itself applies); None when a selection is
    outside the plain case."""
    out: dict[str, list[FieldNode]] = {}
    seen: set[str] = set()
    fits = applies or (lambda name: name == type_.name or None)

    def visit(selection_set: SelectionSetNode | None) -> bool:
        for sel in selection_set.selections if selection_set else ():
            if sel.directives:
                return False
            if isinstance(sel, FieldNode):
                if sel.arguments and not arguments:
                    return False
                out.setdefault(sel.alias.value if sel.alias else sel.name.value, []).append(sel)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                fit = True if cond is None else fits(cond.name.value)
                if fit is None:
                    return False
                if fit and not visit(sel.selection_set):
                    return False
            elif isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag is None:
                    return False
                fit = fits(frag.type_condition.name.value)
                if fit is None:
                    return False
                if not fit:
                    continue
                if sel.name.value not in seen:
                    seen.add(sel.name.value)
                    if frag.directives or not visit(frag.selection_set):
                        return False
        return True

    for selection_set in sets:
        if not visit(selection_set):
            return None
    return out


class Compiler:
    def __init__(self, schema: strawberry.Schema, fragments: Fragments) -> None:
        self.schema = schema
        self.fragments = fragments

    def completer(self, type_: GraphQLOutputType, nodes: Sequence[FieldNode]) -> Complete | None:
        if is_non_null_type(type_):
            inner = self.completer(type_.of_type, nodes)
            return None if inner is None else _non_null(inner)
        if is_list_type(type_):
            item = self.completer(type_.of_type, nodes)
            return None if item is None else _as_list(item)
        if is_leaf_type(type_):
            return _leaf(type_.coerce_output_value)
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            return self._object(type_, nodes)
        if is_abstract_type(type_):
            return self._abstract(type_, nodes)
        return None

    def _abstract(
        self, type_: GraphQLInterfaceType | GraphQLUnionType, nodes: Sequence[FieldNode]
    ) -> Complete | None:
        """An interface or union: each possible object type's completer, chosen by
        ``is_type_of``; None unless every possible type's selection compiles (a value
        that had to step aside would be resolved twice)."""
        schema = graphql_schema(self.schema)
        choices: list[tuple[GraphQLObjectType, Complete]] = []
        for candidate in schema.get_possible_types(type_):
            complete = self._object(candidate, nodes, self._applies(candidate))
            if candidate.is_type_of is None or complete is None:
                return None
            choices.append((candidate, complete))

        def abstract(value: Any) -> Any:
            if value is None:
                return None
            for candidate, complete in choices:
                if candidate.is_type_of(value, _NO_INFO):  # type: ignore[misc]
                    return complete(value)
            raise _Fallback

        return abstract

    def _applies(self, type_: GraphQLObjectType) -> Callable[[str], bool | None]:
        """Whether a fragment on a named type applies to values of ``type_``."""
        schema = graphql_schema(self.schema)

        def applies(name: str) -> bool | None:
            if name == type_.name:
                return True
            condition = schema.get_type(name)
            if condition is None:
                return None
            if is_abstract_type(condition):
                return schema.is_sub_type(condition, type_)
            return False

        return applies

    def _object(
        self,
        type_: GraphQLObjectType,
        nodes: Sequence[FieldNode],
        applies: Callable[[str], bool | None] | None = None,
    ) -> Complete | None:
        fields = collect(type_, [n.selection_set for n in nodes], self.fragments, applies=applies)
        if fields is None:
            return None
        entries: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
        for key, fnodes in fields.items():
            name = fnodes[0].name.value
            if name == "__typename":
                entries.append((key, None, type_.name))
                continue
            field = type_.fields.get(name)
            if field is None:
                return None
            read = field_reader(self.schema, type_.name, name)
            complete = self.completer(field.type, fnodes)
            if read is None or complete is None:
                return None
            entries.append((key, read, complete))
        is_type_of = type_.is_type_of

        def obj(value: Any) -> Any:
            if value is None:
                return None
            if is_type_of is not None and not is_type_of(value, _NO_INFO):
                raise _Fallback
            out: dict[str, Any] = {}
            for key, read, complete in entries:
                if read is None:
                    out[key] = complete
                    continue
                result = read(value)
                if type(result) is CoroutineType:  # a sync resolver's coroutine: not ours
                    result.close()
                    raise _Fallback
                out[key] = complete(result)
            return out

        return obj


def _non_null(inner: Complete) -> Complete:
    def non_null(value: Any) -> Any:
        out = inner(value)
        if out is None:
            raise _Fallback  # graphql-core reports the error and nulls the parent
        return out

    return non_null


def _as_list(item: Complete) -> Complete:
    def as_list(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise _Fallback
        return [item(v) for v in value]

    return as_list


def _leaf(coerce: Callable[[Any], Any]) -> Complete:
    def leaf(value: Any) -> Any:
        if value is None:
            return None
        out = coerce(value)
        if out is None or out is Undefined:
            raise _Fallback
        return out

    return leaf

