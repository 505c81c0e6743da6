"""Strawberry's graphql-core executor, made for long-lived subscriptions.

- graphql-core 3.3 executes each subscription event on a shallow copy of the
  subscription's executor, so the copies share its memo tables (sub-field collections,
  execution plans), keyed by the identity of lists and field sets that are new for
  every event: on a long-lived subscription they grow with every event (measured: ~160
  KB a second at 200 updates a second). Each event gets fresh tables here.
- An event of a document that compiles (:mod:`bff.graphql.compiled`) runs its plan
  instead of the generic walk; any other event, or a plan that gives up, runs as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar, cast

from graphql import OperationDefinitionNode, OperationType
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


class LiveExecutor(StrawberryGraphQLCoreExecutionContext):
    """Subscription events with their own memo tables, and compiled when they can be
    (see the module docstring)."""

    # operation id -> (the operation, its schema, its plan or None): one per process.
    _plans: ClassVar[OrderedDict[int, tuple[OperationDefinitionNode, Any, Plan | None]]] = (
        OrderedDict()
    )
    _event = False

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
