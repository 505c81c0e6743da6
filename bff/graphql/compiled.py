"""Subscription events executed by a plan compiled once per document.

graphql-core walks the document for every event, and Strawberry wraps every resolver
call in an ``Info``, an argument conversion and its field extensions: measured at about
60% of the CPU of a delivery on a subscription with one subscriber. A plan here walks
the selection once, at compile time, into nested closures that call each field's own
resolver (or read its attribute) and coerce leaves exactly as graphql-core does.

Only the plain case compiles: object and leaf types, lists, non-null; fields without
arguments whose resolvers are synchronous and take only ``self``; fragments on the same
type; no directives, no abstract types, no field extensions. Anything else, and any
surprise at run time (a resolver that raises or returns a coroutine, a null where the
schema says non-null), answers :data:`FALLBACK`: the event then runs through graphql-core
as before, which reports the error the standard way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from types import CoroutineType
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

#: What a plan answers when graphql-core must execute the event instead.
FALLBACK: Any = object()

Plan = Callable[[Any], Any]
Complete = Callable[[Any], Any]
Fragments = dict[str, FragmentDefinitionNode]


#: Strawberry's ``is_type_of`` takes an info it does not read.
_NO_INFO: Any = None


class _Fallback(Exception):
    pass


def compile_subscription(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments
) -> Plan | None:
    """The plan of a subscription operation's events, or None when it does not compile."""
    root = schema.subscription_type
    if root is None:
        return None
    # The root field's arguments are the subscription's own (already used by subscribe).
    fields = _collect(root, [operation.selection_set], fragments, arguments=True)
    if fields is None:
        return None
    entries: list[tuple[str, Complete]] = []
    for key, nodes in fields.items():
        name = nodes[0].name.value
        field = root.fields.get(name)
        # A Strawberry subscription field resolves each event to the event itself.
        if field is None or field.subscribe is None or _strawberry(field) is None:
            return None
        complete = _completer(field.type, nodes, fragments)
        if complete is None:
            return None
        entries.append((key, complete))

    def plan(event: Any) -> Any:
        try:
            return {key: complete(event) for key, complete in entries}
        except Exception:
            return FALLBACK

    return plan


def _strawberry(field: GraphQLField) -> StrawberryField | None:
    found = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return found if isinstance(found, StrawberryField) else None


def _collect(
    type_: GraphQLObjectType,
    sets: Iterable[SelectionSetNode | None],
    fragments: Fragments,
    *,
    arguments: bool = False,
) -> dict[str, list[FieldNode]] | None:
    """Fields by response key, in order, through fragments on ``type_`` itself; None
    when a selection is outside the plain case."""
    out: dict[str, list[FieldNode]] = {}
    seen: set[str] = set()

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
                if cond is not None and cond.name.value != type_.name:
                    return False
                if not visit(sel.selection_set):
                    return False
            elif isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag is None or frag.type_condition.name.value != type_.name:
                    return False
                if sel.name.value not in seen:
                    seen.add(sel.name.value)
                    if frag.directives or not visit(frag.selection_set):
                        return False
        return True

    for selection_set in sets:
        if not visit(selection_set):
            return None
    return out


def _completer(
    type_: GraphQLOutputType, nodes: Sequence[FieldNode], fragments: Fragments
) -> Complete | None:
    if is_non_null_type(type_):
        inner = _completer(type_.of_type, nodes, fragments)
        if inner is None:
            return None

        def non_null(value: Any) -> Any:
            out = inner(value)
            if out is None:
                raise _Fallback  # graphql-core reports the error and nulls the parent
            return out

        return non_null
    if is_list_type(type_):
        item = _completer(type_.of_type, nodes, fragments)
        if item is None:
            return None

        def as_list(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise _Fallback
            return [item(v) for v in value]

        return as_list
    if is_leaf_type(type_):
        coerce = type_.coerce_output_value

        def leaf(value: Any) -> Any:
            if value is None:
                return None
            out = coerce(value)
            if out is None or out is Undefined:
                raise _Fallback
            return out

        return leaf
    if is_object_type(type_):
        assert isinstance(type_, GraphQLObjectType)
        return _object(type_, nodes, fragments)
    return None  # interfaces and unions


def _object(
    type_: GraphQLObjectType, nodes: Sequence[FieldNode], fragments: Fragments
) -> Complete | None:
    fields = _collect(type_, [n.selection_set for n in nodes], fragments)
    if fields is None:
        return None
    entries: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
    for key, fnodes in fields.items():
        name = fnodes[0].name.value
        if name == "__typename":
            entries.append((key, None, type_.name))
            continue
        field = type_.fields.get(name)
        resolve = _resolver(field) if field is not None else None
        complete = _completer(field.type, fnodes, fragments) if field is not None else None
        if resolve is None or complete is None:
            return None
        entries.append((key, resolve, complete))
    is_type_of = type_.is_type_of

    def obj(value: Any) -> Any:
        if value is None:
            return None
        if is_type_of is not None and not is_type_of(value, _NO_INFO):
            raise _Fallback
        out: dict[str, Any] = {}
        for key, resolve, complete in entries:
            if resolve is None:
                out[key] = complete
                continue
            result = resolve(value)
            if type(result) is CoroutineType:  # a sync resolver's coroutine: not ours to run
                result.close()
                raise _Fallback
            out[key] = complete(result)
        return out

    return obj


def _resolver(field: GraphQLField) -> Callable[[Any], Any] | None:
    """How to get the field's value from its parent, as Strawberry would (None: no)."""
    sf = _strawberry(field)
    if sf is None or sf.extensions or sf.arguments:
        return None
    resolver = sf.base_resolver
    if resolver is None:
        default, name = sf.default_resolver, sf.python_name
        return lambda source: default(source, name)
    if (
        resolver.is_async
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or resolver.self_parameter is None
    ):
        return None
    func = cast(Callable[[Any], Any], resolver.wrapped_func)
    return lambda source: func(source)
