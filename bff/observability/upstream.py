"""Provider calls: forward the request id and time every attempt.

Installed as httpx event hooks on each provider's client when the resources are built
(``observe_client``), so every request of that client is covered, OAuth token requests
and retries included, and the adapters' own transports and proxy settings stay as they
are. A response hook sees only attempts that got an answer; ``ProviderHttp`` reports the
ones that did not (timeouts, refused connections) through :func:`note_upstream_failure`.

Each attempt is also one DEBUG line (method, URL, status, time) on this module's logger:
off by default, like httpx's own INFO line per request (see :mod:`bff.logs`); the log
redactor masks any secret in the URL.
"""

from __future__ import annotations

import logging
import time

import httpx

from bff.observability.metrics import Metrics
from bff.server.requestid import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)

#: Where an attempt's timing rides on its ``httpx.Request`` (httpcore ignores unknown keys).
ATTEMPT_KEY = "bff.upstream_attempt"


class UpstreamAttempt:
    """One HTTP attempt to a provider, reported once to the metrics."""

    def __init__(self, provider: str, metrics: Metrics) -> None:
        self.provider = provider
        self.metrics = metrics
        self.started = time.perf_counter()
        self.reported = False

    def answered(self, status: int) -> None:
        if not self.reported:
            self.reported = True
            self.metrics.upstream(self.provider, status, time.perf_counter() - self.started)

    def failed(self, reason: str) -> None:
        if not self.reported:
            self.reported = True
            self.metrics.upstream_failed(self.provider, reason, time.perf_counter() - self.started)


def observe_client(client: httpx.AsyncClient, provider: str, metrics: Metrics | None) -> None:
    """Add the request-id and (with ``metrics``) timing hooks to a provider's client."""

    async def on_request(request: httpx.Request) -> None:
        rid = current_request_id()
        if rid is not None and REQUEST_ID_HEADER not in request.headers:
            request.headers[REQUEST_ID_HEADER] = rid
        if metrics is not None:
            request.extensions[ATTEMPT_KEY] = UpstreamAttempt(provider, metrics)

    async def on_response(response: httpx.Response) -> None:
        attempt = response.request.extensions.get(ATTEMPT_KEY)
        if isinstance(attempt, UpstreamAttempt):
            attempt.answered(response.status_code)
        if log.isEnabledFor(logging.DEBUG):
            request = response.request
            log.debug(
                "upstream %s %s: %d",
                request.method,
                request.url,
                response.status_code,
                extra={"provider": provider, "elapsed_ms": _elapsed_ms(attempt)},
            )

    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks.get("request", []), on_request],
        "response": [*hooks.get("response", []), on_response],
    }


def note_upstream_failure(exc: httpx.RequestError, reason: str) -> None:
    """Report an attempt that ended without a response (``timeout``, ``transport_error``)."""
    try:
        request = exc.request
    except RuntimeError:  # raised before httpx attached the request
        return
    attempt = request.extensions.get(ATTEMPT_KEY)
    if isinstance(attempt, UpstreamAttempt):
        attempt.failed(reason)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "upstream %s %s: %s",
            request.method,
            request.url,
            reason,
            extra={"elapsed_ms": _elapsed_ms(attempt)},
        )


def _elapsed_ms(attempt: object) -> float | None:
    if not isinstance(attempt, UpstreamAttempt):
        return None
    return round((time.perf_counter() - attempt.started) * 1000, 1)
