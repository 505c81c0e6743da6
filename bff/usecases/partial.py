"""Fan-out to providers with a time budget: one provider's failure is reported, not fatal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bff.domain.model import Provider
from bff.errors import ProviderError, ProviderUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class ProviderFailures:
    """The providers that failed while answering one request, for partial-data errors."""

    errors: dict[Provider, ProviderError] = field(default_factory=dict)

    def add(self, provider: Provider, error: ProviderError) -> None:
        self.errors.setdefault(provider, error)


async def gather_providers(
    calls: Mapping[Provider, Callable[[], Awaitable[T]]],
    failures: ProviderFailures,
    timeouts: Mapping[Provider, float],
) -> dict[Provider, T]:
    """Run one call per provider concurrently; failed or slow providers land in ``failures``."""

    async def one(provider: Provider, call: Callable[[], Awaitable[T]]) -> tuple[Provider, T]:
        try:
            async with asyncio.timeout(timeouts.get(provider, 10.0)):
                return provider, await call()
        except TimeoutError:
            raise ProviderUnavailable(provider.value, f"{provider.value} timed out") from None

    results: dict[Provider, T] = {}
    outcomes = await asyncio.gather(*(one(p, c) for p, c in calls.items()), return_exceptions=True)
    for provider, outcome in zip(calls, outcomes, strict=True):
        if isinstance(outcome, ProviderError):
            log.warning("provider failed", extra={"provider": provider.value, "code": outcome.code})
            failures.add(provider, outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            results[provider] = outcome[1]
    return results
