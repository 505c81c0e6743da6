"""Operation metrics as a schema extension: one count and one latency per query or
mutation, errors by ``extensions.code``, live subscriptions and their deliveries.

It must come before :class:`~bff.graphql.errors.ErrorShaping` in the schema's extension
list: hooks unwind in reverse order, so this one then sees the shaped errors (with codes).

An operation's name becomes a new label only when the operation validated and came from
a signed-in driver (``trusted`` in :meth:`Metrics.operation_label`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from bff.observability.metrics import Metrics


class OperationMetrics(SchemaExtension):
    """Moves :class:`~bff.observability.metrics.Metrics` for every operation."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._live = False  # a subscription that passed validation and now streams
        self._validated = False
        self._name: str | None = None

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            ctx = self.execution_context
            if self._live:
                self.metrics.subscription_ended(self._name)
            else:
                kind = _kind(ctx)
                seconds = None if kind == "subscription" else time.perf_counter() - started
                self.metrics.operation(ctx.operation_name, kind, seconds, self._trusted())
                self._count_errors(getattr(ctx.result, "errors", None))

    def on_validate(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        # Later, pre_execution_errors also holds execution errors: look now.
        self._validated = not ctx.pre_execution_errors
        if not self._validated or _kind(ctx) != "subscription":
            return
        self._live = True
        self._name = ctx.operation_name
        self.metrics.operation(self._name, "subscription", None, self._trusted())
        self.metrics.subscription_started(self._name)

    def on_stream_result(self, result: object) -> Iterator[None]:
        if self._live:
            if getattr(result, "data", None) is not None:
                self.metrics.delivered(self._name)
            self._count_errors(getattr(result, "errors", None))
        yield

    def _trusted(self) -> bool:
        """Validated, from a signed-in driver: its name may take a new label."""
        signed_in = getattr(self.execution_context.context, "authenticated", False)
        return self._validated and signed_in is True

    def _count_errors(self, errors: Iterable[GraphQLError] | None) -> None:
        for error in errors or ():
            self.metrics.error((error.extensions or {}).get("code"))


def _kind(ctx: ExecutionContext) -> str:
    try:
        kind = ctx.operation_type
    except RuntimeError:  # nothing parsed
        return "unknown"
    return kind.value if isinstance(kind, OperationType) else "unknown"
