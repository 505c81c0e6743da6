"""Strawberry's graphql-core executor, made for long-lived subscriptions.

- graphql-core 3.3 executes each subscription event on a shallow copy of the
  subscription's executor, so the copies share its memo tables (sub-field collections,
  execution plans), keyed by the identity of lists and field sets that are new for
  every event: on a long-lived subscription they grow with every event (measured: ~160
  KB a second at 200 updates a second). Each event gets fresh tables here.
- An event of a document that compiles (:mod:`bff.graphql.compiled`) runs its plan
  instead of the generic walk; any other event, or a plan that gives up, runs as before.
- Sub-field collection (which fields of an object's selection apply, through its
  fragments) depends only on the document, the type and, through ``@skip``/``@include``
  and other directives, the variables. graphql-core redoes it for every request (a
  quarter of a ``SessionDetail``'s CPU); here it is kept across requests for the same
  parsed document (:class:`~bff.graphql.documents.KnownDocuments` hands out one object
  per query text) unless a directive in it reads a variable.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar, cast

from graphql import (
    FieldNode,
    GraphQLObjectType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.pyutils import RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bff.graphql.compiled import FALLBACK, Plan, compile_subscription

#: The shared memo tables of graphql-core's executors, and how to make an empty one.
_PER_EVENT: tuple[tuple[str, Callable[[], Any]], ...] = (
    ("_relevant_sub_fields", dict),
    ("_stream_usages", RefMap),
    ("_initial_execution_plans", RefMap),
    ("_deferred_execution_plans", RefMap),
)


#: Compiled plans kept, by operation (documents are few; this bounds a flood of new ones).
PLANS_MAX = 256
#: Sub-field collections kept across requests (a few dozen per document).
COLLECTED_MAX = 8192

_CollectedKey = tuple[GraphQLObjectType, int, int, tuple[int, ...]]


class LiveExecutor(StrawberryGraphQLCoreExecutionContext):
    """Subscription events with their own memo tables, and compiled when they can be
    (see the module docstring)."""

    # operation id -> (the operation, its schema, its plan or None): one per process.
    _plans: ClassVar[OrderedDict[int, tuple[OperationDefinitionNode, Any, Plan | None]]] = (
        OrderedDict()
    )
    _event = False
    # (type, operation id, schema id, field node ids) -> (operation, schema, nodes,
    # collected): the objects are kept so that their ids stay theirs while cached.
    _collected: ClassVar[OrderedDict[_CollectedKey, tuple[Any, Any, list[Any], Any]]] = (
        OrderedDict()
    )
    # operation id -> (operation, whether a directive in it reads a variable)
    _variable_directives: ClassVar[dict[int, tuple[OperationDefinitionNode, bool]]] = {}

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        for name, empty in _PER_EVENT:
            if hasattr(executor, name):
                setattr(executor, name, empty())
        cast(LiveExecutor, executor)._event = True
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self._event and self.operation.operation is OperationType.SUBSCRIPTION:
            plan = self.plan()
            if plan is not None and not self.middleware_manager_has_middleware():
                data = plan(self.root_value)
                if data is not FALLBACK:
                    return self.finish(self.build_response(data))
        return super().execute_operation(serially)

    def collect_subfields(self, return_type: GraphQLObjectType, field_details_list: Any) -> Any:
        op = self.operation
        if self._reads_variables(op):
            return super().collect_subfields(return_type, field_details_list)
        cache = self._collected
        key = (return_type, id(op), id(self.schema), tuple(id(d.node) for d in field_details_list))
        hit = cache.get(key)
        if hit is not None and hit[0] is op and hit[1] is self.schema:
            return hit[3]
        collected = super().collect_subfields(return_type, field_details_list)
        cache[key] = (op, self.schema, [d.node for d in field_details_list], collected)
        if len(cache) > COLLECTED_MAX:
            cache.popitem(last=False)
        return collected

    def _reads_variables(self, op: OperationDefinitionNode) -> bool:
        known = self._variable_directives.get(id(op))
        if known is not None and known[0] is op:
            return known[1]
        fragments = [f.definition for f in self.fragments.values()]
        reads = (
            _has_variable(op.directives)
            or _directive_reads_variable(op.selection_set)
            or any(_has_variable(f.directives) for f in fragments)
            or any(_directive_reads_variable(f.selection_set) for f in fragments)
        )
        if len(self._variable_directives) >= COLLECTED_MAX:
            self._variable_directives.clear()
        self._variable_directives[id(op)] = (op, reads)
        return reads

    def middleware_manager_has_middleware(self) -> bool:
        manager = getattr(self, "middleware_manager", None)
        return bool(getattr(manager, "middlewares", None))

    def plan(self) -> Plan | None:
        """The compiled plan of this executor's operation (cached), or None."""
        plans, op = self._plans, self.operation
        entry = plans.get(id(op))
        if entry is not None and entry[0] is op and entry[1] is self.schema:
            plans.move_to_end(id(op))
            return entry[2]
        fragments = {name: f.definition for name, f in self.fragments.items()}
        plan = compile_subscription(self.schema, op, fragments)
        plans[id(op)] = (op, self.schema, plan)
        if len(plans) > PLANS_MAX:
            plans.popitem(last=False)
        return plan


def _has_variable(directives: Any) -> bool:
    return any(_contains_variable(arg.value) for d in directives or () for arg in d.arguments or ())


def _contains_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_contains_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_contains_variable(f.value) for f in value.fields)
    return False


def _directive_reads_variable(selection_set: SelectionSetNode | None) -> bool:
    """Whether a directive anywhere under ``selection_set`` takes a variable."""
    for sel in selection_set.selections if selection_set else ():
        if _has_variable(sel.directives):
            return True
        if isinstance(sel, FieldNode | InlineFragmentNode) and _directive_reads_variable(
            sel.selection_set
        ):
            return True
    return False
