"""The one place GraphQL operations are counted: queries, mutations, subscriptions.

Operation names are labels only once the operation validated (a client cannot fill the
label slots with random names by sending garbage); errors count by ``extensions.code``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from graphql import GraphQLError

from bff.observability.metrics import Metrics


class Counting:
    """Moves :class:`~bff.observability.metrics.Metrics` (or nothing, without metrics)."""

    def __init__(self, metrics: Metrics | None) -> None:
        self.metrics = metrics

    def refused(self, name: str | None, kind: str, errors: Iterable[GraphQLError]) -> None:
        """An operation that did not parse or validate: its name adds no label."""
        if self.metrics is not None:
            self.metrics.operation(name, kind, None, trusted=False)
            self.errors(errors)

    def ran(
        self,
        name: str | None,
        kind: str,
        seconds: float,
        errors: Iterable[GraphQLError],
        trusted: bool,
    ) -> None:
        """A query or mutation that ran; only a ``trusted`` one (a signed-in driver's)
        may add its name as a new label."""
        if self.metrics is not None:
            self.metrics.operation(name, kind, seconds, trusted)
            self.errors(errors)

    def errors(self, errors: Iterable[GraphQLError]) -> None:
        if self.metrics is not None:
            for error in errors:
                self.metrics.error((error.extensions or {}).get("code"))

    def delivered(self, name: str | None) -> Callable[[], None]:
        """What to call for each result delivered to one subscriber."""
        if self.metrics is None:
            return _nothing
        child = self.metrics.deliveries.labels(self.metrics.operation_label(name))
        return child.inc

    def subscribed(self, name: str | None) -> None:
        if self.metrics is not None:
            self.metrics.operation(name, "subscription", None)
            self.metrics.subscription_started(name)

    def unsubscribed(self, name: str | None) -> None:
        if self.metrics is not None:
            self.metrics.subscription_ended(name)


def _nothing() -> None:
    return None
