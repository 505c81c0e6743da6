"""The one place httpx meets the error hierarchy: clients, requests, retries, translation.

Reads (``idempotent=True``) are retried with exponential backoff on connection errors,
timeouts, 429 and 5xx; writes are sent once. Every failure leaves as a
:class:`bff.errors.ProviderError`; response bodies are never put in messages. With a
:class:`~bff.providers.circuit.CircuitBreaker`, each attempt reports to it and an open
circuit fails at once without sending anything.

A kept-alive connection the server closes just as we reuse it (its keep-alive timer ran
out: uvicorn's is 5 s, our poll interval too) fails with ``RemoteProtocolError`` (or
``ReadError`` on a reset) although the provider is fine. Two defences: idle connections
are dropped before a server would close them (:data:`KEEPALIVE_EXPIRY_SECONDS`), and a
read that meets one is sent once more at once, on another connection, without counting
against the circuit (several polls meeting stale connections together opened it). A
write is never resent: the server may have acted on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bff.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from bff.observability.upstream import note_upstream_failure
from bff.providers.circuit import CircuitBreaker
from bff.providers.invalid import unreadable

log = logging.getLogger(__name__)

#: Idle provider connections are dropped after this: below uvicorn's default keep-alive
#: (5 s) and most servers', so we do not reuse one the server is closing.
KEEPALIVE_EXPIRY_SECONDS = 4.0
#: What a server closing a kept-alive connection under a request looks like.
_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError)

M = TypeVar("M", bound=BaseModel)


def provider_client(
    base_url: str,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """The httpx client of one provider (its adapter's builder adds headers or auth)."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        transport=transport,
        limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS),
        **kwargs,
    )


class _Retryable(Exception):
    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


def retry_after(response: httpx.Response, default: int = 60) -> int:
    value = response.headers.get("retry-after")
    try:
        return max(1, int(float(value))) if value else default
    except ValueError:
        return default


def translate_status(provider: str, response: httpx.Response) -> ProviderError | None:
    """The error for a non-2xx response, or None for success."""
    status = response.status_code
    if status < 400:
        return None
    if status == 429:
        return ProviderRateLimited(
            provider, f"{provider} rate limit reached", retry_after(response)
        )
    if status == 404:
        return ProviderNotFound(provider, f"{provider} does not know this resource")
    if status >= 500:
        return ProviderUnavailable(provider, f"{provider} answered {status}")
    return ProviderRejected(provider, f"{provider} rejected the request ({status})")


class ProviderHttp:
    """An httpx client bound to one provider, with its retry policy."""

    def __init__(
        self,
        provider: str,
        client: httpx.AsyncClient,
        retries: int = 2,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        self.retries = retries
        self.breaker = breaker

    def parse(self, model: type[M], response: httpx.Response) -> M:
        """The 2xx body as ``model``; one we cannot read is the provider's fault, not the
        driver's: :func:`~bff.providers.invalid.unreadable` (logged, ProviderUnavailable)."""
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            message = f"{self.provider} sent an answer we cannot read"
            raise unreadable(self.provider, model.__name__, exc, message) from None

    async def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        ok_statuses: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send; return the response when 2xx (or in ``ok_statuses``), else raise.

        ``ok_statuses`` lets an adapter read a 4xx body itself (e.g. a 402 with a secret).
        """
        attempts = 1 + (self.retries if idempotent else 0)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                # jitter defaults to up to 1 s a wait: far more than the backoff itself.
                wait=wait_exponential_jitter(multiplier=0.05, max=1.0, jitter=0.05),
                retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                reraise=False,
            ):
                with attempt:
                    return await self._once(method, url, idempotent, ok_statuses, **kwargs)
        except RetryError as exc:
            inner = exc.last_attempt.exception()
            if isinstance(inner, _Retryable):
                raise inner.error from None
            raise
        except _Retryable as exc:  # pragma: no cover - reraise=False wraps these
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        url: str,
        idempotent: bool,
        ok_statuses: tuple[int, ...],
        **kwargs: Any,
    ) -> httpx.Response:
        breaker = self.breaker
        if breaker is None:
            return await self._attempt(method, url, idempotent, ok_statuses, **kwargs)
        if not breaker.allow():
            # Not retryable: the retries would find it open too.
            raise ProviderUnavailable(self.provider, f"{self.provider} is unavailable")
        started = time.monotonic()
        try:
            response = await self._attempt(method, url, idempotent, ok_statuses, **kwargs)
        except _Retryable as exc:
            if isinstance(exc.error, ProviderUnavailable):
                breaker.failure()
            else:
                breaker.abandoned()  # a 429: alive, but no verdict
            raise
        except ProviderUnavailable:  # e.g. the token endpoint of the auth flow
            breaker.failure()
            raise
        except ProviderError:
            breaker.success()  # a 4xx is an answer
            raise
        except asyncio.CancelledError:
            # The caller's time budget ran out: as good as a timeout once the attempt
            # has taken the client's own timeout.
            timeout = self.client.timeout.read
            if timeout is not None and time.monotonic() - started >= timeout:
                breaker.failure()
            else:
                breaker.abandoned()
            raise
        except BaseException:
            breaker.abandoned()
            raise
        breaker.success()
        return response

    async def _attempt(
        self,
        method: str,
        url: str,
        idempotent: bool,
        ok_statuses: tuple[int, ...],
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = await self._send(method, url, idempotent, **kwargs)
        except httpx.TimeoutException as exc:
            note_upstream_failure(exc, "timeout")
            raise _Retryable(
                ProviderUnavailable(self.provider, f"{self.provider} timed out")
            ) from None
        except httpx.TransportError as exc:
            note_upstream_failure(exc, "transport_error")
            log.warning(
                "upstream transport error",
                extra={"provider": self.provider, "error": type(exc).__name__},
            )
            raise _Retryable(
                ProviderUnavailable(self.provider, f"{self.provider} is unreachable")
            ) from None
        if response.status_code in ok_statuses:
            return response
        error = translate_status(self.provider, response)
        if error is None:
            return response
        if isinstance(error, ProviderRateLimited | ProviderUnavailable):
            raise _Retryable(error)
        raise error

    async def _send(self, method: str, url: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, url, **kwargs)
        except _STALE_CONNECTION as exc:
            if not idempotent:
                raise
            note_upstream_failure(exc, "stale_connection")
            # Most likely a pooled connection the server closed as we reused it; the
            # failed one is gone, so this goes out on another (or a new) connection.
            log.info(
                "upstream connection closed under a read: sending it once more",
                extra={"provider": self.provider, "error": type(exc).__name__},
            )
            return await self.client.request(method, url, **kwargs)
