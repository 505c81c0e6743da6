"""Provider calls through ``ProviderHttp`` with the observing hooks: the request id goes
along, and every attempt (answered, timed out, refused) is counted for its provider."""

from __future__ import annotations

import httpx
import pytest

from bff.errors import ProviderUnavailable
from bff.observability.metrics import Metrics
from bff.observability.upstream import observe_client
from bff.providers.http import ProviderHttp
from bff.server.requestid import bind_request_id
from tests.observability.scrape import parse, value


def provider(handler: httpx.MockTransport, metrics: Metrics, retries: int = 0) -> ProviderHttp:
    client = httpx.AsyncClient(transport=handler, base_url="http://provider")
    observe_client(client, "ROAMING", metrics)
    return ProviderHttp("ROAMING", client, retries=retries)


async def test_the_request_id_is_forwarded_and_answers_are_counted() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return httpx.Response(503 if len(seen) == 1 else 200, json={})

    metrics = Metrics()
    http = provider(httpx.MockTransport(handler), metrics, retries=1)
    with bind_request_id("rid-42"):
        await http.request("GET", "/v1/evses", idempotent=True)
    await http.request("GET", "/v1/evses", idempotent=True)  # outside any request
    await http.client.aclose()

    assert seen == ["rid-42", "rid-42", None]
    s = parse(metrics.exposition().decode())
    assert value(s, "bff_upstream_requests_total", provider="ROAMING", status="503") == 1
    assert value(s, "bff_upstream_requests_total", provider="ROAMING", status="200") == 2
    assert value(s, "bff_upstream_errors_total", provider="ROAMING", reason="http_5xx") == 1
    assert value(s, "bff_upstream_request_duration_seconds_count", provider="ROAMING") == 3


@pytest.mark.parametrize(
    ("error", "reason"),
    [(httpx.ReadTimeout("slow"), "timeout"), (httpx.ConnectError("refused"), "transport_error")],
)
async def test_attempts_without_an_answer_are_counted(
    error: httpx.RequestError, reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    metrics = Metrics()
    http = provider(httpx.MockTransport(handler), metrics)
    with pytest.raises(ProviderUnavailable):
        await http.request("GET", "/v1/evses", idempotent=False)
    await http.client.aclose()
    s = parse(metrics.exposition().decode())
    assert value(s, "bff_upstream_errors_total", provider="ROAMING", reason=reason) == 1
    assert value(s, "bff_upstream_requests_total", provider="ROAMING", status=reason) == 1
    assert value(s, "bff_upstream_request_duration_seconds_count", provider="ROAMING") == 1
