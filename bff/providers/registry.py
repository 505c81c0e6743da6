"""Every provider the BFF knows, one entry each: the only place that names them.

An entry says how to build the provider's adapter (one shared builder, :func:`build_adapter`,
from the entry's client options and adapter factory), where it lives (a live URL setting,
or ``/_sandbox/<name>``), how to read its webhooks (``POST /webhooks/<name>``) if it
sends any, whether those follow a session's lifecycle and carry meter values, and how
often all replicas together may poll it. The app, the hub, the webhook routes and the
pollers iterate these entries; none of them names a provider.

A fourth provider is a new package (``client``, ``schemas``, ``mappers``, ``constants``,
``adapter`` with a ``connect_<name>`` factory, ``webhooks`` with a
:class:`~bff.providers.base.WebhookParser` if it sends webhooks), its name in
:class:`bff.domain.model.Provider` (the GraphQL enum follows), its settings in
:class:`bff.settings.Settings` (``<name>_url``, ``<name>_timeout_seconds``, secrets), its
simulator under ``bff/sandbox/``, and one entry in :data:`PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from bff.domain.model import Provider
from bff.providers.base import ClientOptions, ProviderAdapter, WebhookParser
from bff.providers.circuit import CircuitBreaker
from bff.providers.http import ProviderHttp, provider_client
from bff.providers.plugchoice.adapter import PLUGCHOICE_CLIENT, connect_plugchoice
from bff.providers.plugsurfing.adapter import connect_plugsurfing, plugsurfing_client_options
from bff.providers.plugsurfing.webhooks import plugsurfing_webhook_event
from bff.providers.roaming.adapter import connect_roaming
from bff.providers.roaming.webhooks import roaming_webhook_event
from bff.settings import Settings


def _no_options(base_url: str, settings: Settings) -> ClientOptions:
    return ClientOptions()


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    provider: Provider
    #: Lower-case path segment: ``POST /webhooks/<name>``, the sandbox at ``/_sandbox/<name>``.
    name: str
    #: The adapter over the provider's :class:`ProviderHttp` (see :func:`build_adapter`).
    connect: Callable[[ProviderHttp, Settings], ProviderAdapter]
    #: Its URL in ``BFF_PROVIDERS=live`` (None: not configured, so not enabled).
    live_url: Callable[[Settings], str | None]
    #: Polls a minute, all replicas together (``BFF_POLL_BUDGETS`` overrides).
    poll_budget_per_minute: int
    #: Headers and auth of its httpx client, from its URL and the settings.
    client: Callable[[str, Settings], ClientOptions] = _no_options
    #: Reads its webhooks; None when it sends none.
    webhooks: WebhookParser | None = None
    #: It sends a webhook on each lifecycle change (else its live sessions are polled
    #: every interval, not only when quiet).
    lifecycle_webhooks: bool = False
    #: Its webhooks carry meter values (energy as it rises); else energy is only as
    #: fresh as the last poll.
    webhook_meter_values: bool = False

    def __post_init__(self) -> None:
        if (self.lifecycle_webhooks or self.webhook_meter_values) and self.webhooks is None:
            raise ValueError(f"{self.provider}: webhook traits without a webhook parser")


PROVIDERS: tuple[ProviderEntry, ...] = (
    ProviderEntry(
        Provider.PLUGSURFING,
        "plugsurfing",
        connect_plugsurfing,
        live_url=lambda s: s.plugsurfing_url,
        poll_budget_per_minute=120,
        client=plugsurfing_client_options,
        webhooks=plugsurfing_webhook_event,  # a prompt to re-fetch: no state, no meter values
        lifecycle_webhooks=True,
    ),
    ProviderEntry(
        Provider.PLUGCHOICE,
        "plugchoice",
        connect_plugchoice,
        live_url=lambda s: s.plugchoice_url,
        poll_budget_per_minute=20,  # its session show endpoint allows 30/min
        client=lambda url, s: PLUGCHOICE_CLIENT,
    ),
    ProviderEntry(
        Provider.ROAMING,
        "roaming",
        connect_roaming,
        live_url=lambda s: s.roaming_url,
        poll_budget_per_minute=120,
        webhooks=roaming_webhook_event,  # the session's status, without meter values
        lifecycle_webhooks=True,
    ),
)

_BY_PROVIDER: Mapping[Provider, ProviderEntry] = {e.provider: e for e in PROVIDERS}


def entry(provider: Provider) -> ProviderEntry:
    return _BY_PROVIDER[provider]


def with_webhooks() -> list[ProviderEntry]:
    return [e for e in PROVIDERS if e.webhooks is not None]


def poll_budgets() -> dict[Provider, int]:
    """Polls per provider per minute, all replicas together (before ``BFF_POLL_BUDGETS``)."""
    return {e.provider: e.poll_budget_per_minute for e in PROVIDERS}


def always_polled() -> frozenset[Provider]:
    """Providers that do not tell us of lifecycle changes: their live sessions are polled
    every interval."""
    return frozenset(e.provider for e in PROVIDERS if not e.lifecycle_webhooks)


def polled_when_watched() -> frozenset[Provider]:
    """Providers whose webhooks carry no meter values: a watched live session of theirs is
    polled every ``watched_poll_seconds`` so its energy and cost move."""
    return frozenset(e.provider for e in PROVIDERS if not e.webhook_meter_values)


def provider_urls(settings: Settings) -> dict[Provider, str]:
    """Where each provider lives: the sandbox (ours or a shared one) or the configured URLs."""
    if settings.providers == "sandbox":
        base = (settings.sandbox_url or f"{settings.own_url()}/_sandbox").rstrip("/")
        return {e.provider: f"{base}/{e.name}" for e in PROVIDERS}
    urls = {e.provider: e.live_url(settings) for e in PROVIDERS}
    return {p: u for p, u in urls.items() if u}


def build_adapter(
    provider: Provider,
    base_url: str,
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[ProviderAdapter, httpx.AsyncClient]:
    """The provider's adapter and the httpx client it owns (the caller closes the client):
    the provider's timeout, retries and circuit breaker from the settings, its headers and
    auth from its entry."""
    e = entry(provider)
    options = e.client(base_url, settings)
    client = provider_client(
        base_url,
        settings.provider_timeout(provider.value),
        transport,
        headers=dict(options.headers),
        auth=options.auth,
    )
    name = provider.value
    breaker = CircuitBreaker(
        name, settings.circuit_failure_threshold, settings.circuit_open_seconds
    )
    http = ProviderHttp(name, client, settings.upstream_retries, breaker)
    return e.connect(http, settings), client
