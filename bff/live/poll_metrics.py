"""Prometheus metrics of the pollers and watchers (:mod:`bff.live.pollers`), read at
scrape time from what this replica's poller already counts.

- ``bff_poll_budget_per_minute{provider}``: the provider's poll budget, all replicas;
- ``bff_poll_budget_used{provider}``: polls of the last minute against it, all replicas
  (as of this replica's last round);
- ``bff_polls_total{provider,why}``: this replica's polls, by why (``watched``,
  ``always``, ``quiet``, ``catch_up``);
- ``bff_polls_deferred_total{provider}``: sessions due that waited for a later round
  because the budget was full (this replica's rounds);
- ``bff_watched_sessions{provider}``: live sessions watched on any replica (as of this
  replica's last round), and ``bff_watched_sessions_here``: sessions watched here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from bff.domain.model import Provider
from bff.live.pollers import Poller


class PollMetrics:
    """A prometheus_client collector (``registry.register(PollMetrics(poller))``)."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller

    def collect(self) -> Iterable[Metric]:
        p = self.poller
        providers = sorted(p.providers, key=lambda x: x.value)
        per_provider: list[tuple[GaugeMetricFamily | CounterMetricFamily, Mapping[Provider, int]]]
        per_provider = [
            (GaugeMetricFamily("bff_poll_budget_per_minute",
                               "Polls a minute each provider allows, all replicas together",
                               labels=["provider"]), p.budgets),
            (GaugeMetricFamily("bff_poll_budget_used",
                               "Polls of the last minute against the provider's budget, all "
                               "replicas (as of this replica's last round)",
                               labels=["provider"]),
             {x: p.budget_used.get(x, 0) for x in p.budgets}),
            (CounterMetricFamily("bff_polls_deferred",
                                 "Sessions due that waited for a later round: the provider's "
                                 "budget was full", labels=["provider"]),
             {x: p.deferred.get(x, 0) for x in providers}),
            (GaugeMetricFamily("bff_watched_sessions",
                               "Live sessions someone watches, on any replica (as of this "
                               "replica's last round)", labels=["provider"]),
             {x: p.watched.get(x, 0) for x in p.when_watched}),
        ]  # fmt: skip
        for family, values in per_provider:
            for provider in providers:
                if provider in values:
                    family.add_metric([provider.value], values[provider])
            yield family
        polls = CounterMetricFamily(
            "bff_polls",
            "Sessions this replica polled, by provider and why",
            labels=["provider", "why"],
        )
        for (provider, why), n in sorted(p.polls.items(), key=lambda x: (x[0][0].value, x[0][1])):
            polls.add_metric([provider.value, why], n)
        yield polls
        here = GaugeMetricFamily(
            "bff_watched_sessions_here", "Sessions watched by subscribers of this replica"
        )
        here.add_metric([], p.watchers.count() if p.watchers is not None else 0)
        yield here
