"""The app's Prometheus metrics, in a registry of its own.

One :class:`Metrics` per app (built in ``create_app``, never a module-level global), so
tests that build several apps in one process do not share or collide on counters.

Label values are bounded: operation names come from clients, so only well-formed names
are kept, and after ``max_operation_names`` distinct ones the rest count as ``other``.
Only a trusted operation (one that validated, from a signed-in driver) may take a new
name's place: anyone else's unknown names count as ``other`` too, so an anonymous client
cannot fill the places with random names (a known name is counted as itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, Metric

#: The exposition format :meth:`Metrics.exposition` writes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")

# GraphQL answers are mostly a few ms; provider calls up to the 5 s client timeout.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _CallbackCounters:
    """A counter whose value is read at scrape time from something that already counts
    (e.g. the pub/sub broker's ``reconnects``), so that thing needs no metrics import."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.sources: list[Callable[[], float]] = []

    def collect(self) -> Iterable[Metric]:
        total = 0.0
        for read in self.sources:
            try:
                total += float(read())
            except Exception:  # a scrape must not fail because one source did
                continue
        family = CounterMetricFamily(self.name, self.documentation)
        family.add_metric([], total)
        yield family


class Metrics:
    """Every metric the BFF exports, and small methods to move them."""

    def __init__(self, max_operation_names: int = 200) -> None:
        self.registry = CollectorRegistry()
        self._max_names = max_operation_names
        self._names: set[str] = set()
        self._operation_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        r = self.registry
        self.operations = Counter(
            "bff_graphql_operations",
            "GraphQL operations by operation name and type",
            ["operation", "type"],
            registry=r,
        )
        self.operation_seconds = Histogram(
            "bff_graphql_operation_duration_seconds",
            "Time to answer a GraphQL query or mutation (parse to result)",
            ["operation", "type"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "bff_graphql_errors",
            "GraphQL errors sent to clients, by extensions.code",
            ["code"],
            registry=r,
        )
        self.subscriptions = Gauge(
            "bff_graphql_subscriptions_active",
            "Subscriptions running now",
            ["operation"],
            registry=r,
        )
        self.deliveries = Counter(
            "bff_graphql_subscription_deliveries",
            "Subscription results sent to clients",
            ["operation"],
            registry=r,
        )
        self.webhooks = Counter(
            "bff_webhooks",
            "Webhooks received, by provider and the HTTP status we answered",
            ["provider", "status"],
            registry=r,
        )
        self.upstream_requests = Counter(
            "bff_upstream_requests",
            "Provider HTTP attempts, by provider and status (or timeout/transport_error)",
            ["provider", "status"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "bff_upstream_request_duration_seconds",
            "Provider HTTP attempt latency (until the response headers, or the failure)",
            ["provider"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "bff_upstream_errors",
            "Failed provider HTTP attempts: timeout, transport_error, http_5xx, http_429",
            ["provider", "reason"],
            registry=r,
        )
        self._reconnects = _CallbackCounters(
            "bff_redis_reconnects", "Reconnections of the Redis pub/sub connection"
        )
        r.register(self._reconnects)

    # -- labels ------------------------------------------------------------------------

    def operation_label(self, name: str | None, trusted: bool = True) -> str:
        """A bounded label for a client-chosen operation name; only a ``trusted``
        operation (see the module docstring) adds a name not labelled yet."""
        if not name:
            return "anonymous"
        if not _NAME.fullmatch(name):
            return "invalid"
        if name not in self._names:
            if not trusted or len(self._names) >= self._max_names:
                return "other"
            self._names.add(name)
        return name

    # -- GraphQL -----------------------------------------------------------------------

    def operation(
        self, name: str | None, kind: str, seconds: float | None, trusted: bool = True
    ) -> None:
        """One operation; ``seconds`` is None for subscriptions (they last for hours)."""
        label = self.operation_label(name, trusted)
        key = (label, kind)
        children = self._operation_children.get(key)
        if children is None:  # labels() is a lock and two lookups: once per label pair
            children = (self.operations.labels(label, kind),
                        self.operation_seconds.labels(label, kind))  # fmt: skip
            self._operation_children[key] = children
        children[0].inc()
        if seconds is not None:
            children[1].observe(seconds)

    def error(self, code: object) -> None:
        self.errors.labels(
            code if isinstance(code, str) and _CODE.fullmatch(code) else "UNKNOWN"
        ).inc()

    def subscription_started(self, name: str | None) -> None:
        self.subscriptions.labels(self.operation_label(name)).inc()

    def subscription_ended(self, name: str | None) -> None:
        self.subscriptions.labels(self.operation_label(name)).dec()

    def delivered(self, name: str | None) -> None:
        self.deliveries.labels(self.operation_label(name)).inc()

    # -- HTTP edges --------------------------------------------------------------------

    def webhook(self, provider: str, status: int) -> None:
        self.webhooks.labels(provider, str(status)).inc()

    def upstream(self, provider: str, status: int, seconds: float) -> None:
        self.upstream_requests.labels(provider, str(status)).inc()
        self.upstream_seconds.labels(provider).observe(seconds)
        if status >= 500 or status == 429:
            self.upstream_errors.labels(provider, f"http_{'429' if status == 429 else '5xx'}").inc()

    def upstream_failed(self, provider: str, reason: str, seconds: float) -> None:
        self.upstream_requests.labels(provider, reason).inc()
        self.upstream_seconds.labels(provider).observe(seconds)
        self.upstream_errors.labels(provider, reason).inc()

    # -- Redis -------------------------------------------------------------------------

    def count_redis_reconnects(self, read: Callable[[], float]) -> None:
        """Export ``read()`` (a running count, e.g. ``broker.reconnects``) as
        ``bff_redis_reconnects_total``."""
        self._reconnects.sources.append(read)

    # -- exposition --------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
