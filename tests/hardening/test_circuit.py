"""The circuit breaker on its own (a fake clock) and inside ProviderHttp (a counting
transport): what opens it, what does not, and that an open circuit sends nothing."""

from __future__ import annotations

import httpx
import pytest

from bff.errors import ProviderNotFound, ProviderRateLimited, ProviderUnavailable
from bff.providers.circuit import CircuitBreaker, CircuitState
from bff.providers.http import ProviderHttp


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_k_failures_then_half_opens_for_one_trial() -> None:
    clock = Clock()
    b = CircuitBreaker("P", failure_threshold=3, open_seconds=10, clock=clock)
    for _ in range(2):
        assert b.allow()
        b.failure()
    b.success()  # a success in between starts the count again
    for _ in range(3):
        assert b.allow()
        b.failure()
    assert b.state is CircuitState.OPEN and not b.allow() and b.opened == 1
    clock.now = 9.9
    assert not b.allow()
    clock.now = 10.0
    assert b.allow(), "the trial"
    assert b.state is CircuitState.HALF_OPEN
    assert not b.allow(), "only one trial at a time"
    b.failure()
    assert b.state is CircuitState.OPEN and not b.allow()
    clock.now = 20.0
    assert b.allow()
    b.abandoned()  # the trial was cancelled: another may go
    assert b.allow()
    b.success()
    assert b.state is CircuitState.CLOSED and b.allow() and b.failures == 0


def test_zero_threshold_disables_it() -> None:
    b = CircuitBreaker("P", failure_threshold=0)
    for _ in range(100):
        b.failure()
    assert b.allow()


async def test_provider_http_counts_attempts_and_fails_fast_when_open() -> None:
    calls: list[str] = []
    status = {"code": 503}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(status["code"], json={})

    clock = Clock()
    breaker = CircuitBreaker("P", failure_threshold=3, open_seconds=5, clock=clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                 base_url="http://p") as client:
        http = ProviderHttp("P", client, retries=5, breaker=breaker)
        with pytest.raises(ProviderUnavailable):
            await http.request("GET", "/x", idempotent=True)
        assert len(calls) == 3, "retries stop once the circuit opens"
        with pytest.raises(ProviderUnavailable):
            await http.request("GET", "/x", idempotent=True)
        assert len(calls) == 3, "open: nothing sent"
        # 4xx answers and 429s do not open it; a 404 even closes it after the cool-off.
        clock.now = 5.0
        status["code"] = 404
        with pytest.raises(ProviderNotFound):
            await http.request("GET", "/x", idempotent=True)
        assert breaker.state is CircuitState.CLOSED
        status["code"] = 429
        for _ in range(5):
            with pytest.raises(ProviderRateLimited):
                await http.request("GET", "/x", idempotent=False)
        assert breaker.state is CircuitState.CLOSED
