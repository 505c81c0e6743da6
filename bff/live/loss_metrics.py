"""Prometheus metrics of :class:`~bff.live.redis_loss.RedisLossWatch`, read at scrape time.

- ``bff_redis_data_losses_total``: times this replica found Redis emptied under it;
- ``bff_redis_lost_sessions{provider,state}``: live sessions of the losses still
  reported (24 h), by what became of them (restored, recovered, pending,
  unrecoverable): alert on ``state="unrecoverable"`` above 0;
- ``bff_redis_durable``: 1 when Redis persists (AOF or RDB), 0 when not, -1 unknown;
- ``bff_live_sessions_copied{provider}``: live sessions this replica holds a copy of.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from bff.live.loss_event import STATES
from bff.live.redis_loss import RedisLossWatch


class LossMetrics:
    """A prometheus_client collector (``registry.register(LossMetrics(watch))``)."""

    def __init__(self, watch: RedisLossWatch) -> None:
        self.watch = watch

    def collect(self) -> Iterable[Metric]:
        w = self.watch
        losses = CounterMetricFamily(
            "bff_redis_data_losses", "Times Redis was found emptied under this replica"
        )
        losses.add_metric([], w.losses)
        yield losses
        lost = GaugeMetricFamily(
            "bff_redis_lost_sessions",
            "Live sessions lost with Redis's data (losses of the last 24 h), by outcome",
            labels=["provider", "state"],
        )
        totals: dict[tuple[str, str], int] = {}
        for event in w.recent():
            for state, counts in event.tally().items():
                for provider, n in counts.items():
                    totals[(provider, state)] = totals.get((provider, state), 0) + n
        for provider in sorted({p for p, _ in totals}):
            for state in STATES:
                lost.add_metric([provider, state], totals.get((provider, state), 0))
        yield lost
        durable = GaugeMetricFamily(
            "bff_redis_durable", "Redis persists its data: 1 yes, 0 no, -1 unknown"
        )
        d = w.persistence.durable if w.persistence else None
        durable.add_metric([], -1 if d is None else int(d))
        yield durable
        copied = GaugeMetricFamily(
            "bff_live_sessions_copied",
            "Live sessions this replica keeps a copy of, for a Redis that comes back empty",
            labels=["provider"],
        )
        for provider, n in sorted(w.copy.counts().items()):
            copied.add_metric([provider], n)
        yield copied
