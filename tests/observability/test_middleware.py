"""The request-id middleware and log filter in-process (a tiny Starlette app over
``httpx.ASGITransport``), and webhook outcomes counted at the ASGI edge."""

from __future__ import annotations

import logging

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bff.observability.http import WebhookMetricsMiddleware, metrics_route
from bff.observability.metrics import Metrics
from bff.server.requestid import RequestIdFilter, RequestIdMiddleware, current_request_id
from tests.observability.scrape import parse, value


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def app(metrics: Metrics) -> Starlette:
    log = logging.getLogger("tests.observability.app")

    async def echo(_: Request) -> Response:
        log.warning("handling")
        return JSONResponse({"rid": current_request_id()})

    async def webhook(request: Request) -> Response:
        ok = request.headers.get("authorization") == "good"
        return PlainTextResponse("", status_code=200 if ok else 401)

    return Starlette(
        routes=[
            Route("/echo", echo),
            Route("/webhooks/plugsurfing", webhook, methods=["POST"]),
            Route("/webhooks/elsewhere", webhook, methods=["POST"]),
            metrics_route(metrics),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(WebhookMetricsMiddleware, metrics=metrics),
        ],
    )


async def test_the_id_is_the_callers_or_new_and_reaches_handlers_and_logs() -> None:
    records = Records()
    logger = logging.getLogger("tests.observability.app")
    logger.addHandler(records)
    transport = httpx.ASGITransport(app=app(Metrics()))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            r = await http.get("/echo", headers={"x-request-id": "abc-123"})
            assert r.headers["x-request-id"] == "abc-123" == r.json()["rid"]
            r2 = await http.get("/echo", headers={"x-request-id": "a" * 200})
            assert r2.headers["x-request-id"] == r2.json()["rid"] != "a" * 200
    finally:
        logger.removeHandler(records)
    assert [getattr(x, "request_id", None) for x in records.records] == [
        "abc-123",
        r2.json()["rid"],
    ]
    assert current_request_id() is None, "the id does not outlive its request"


async def test_webhook_outcomes_by_provider_and_status() -> None:
    metrics = Metrics()
    transport = httpx.ASGITransport(app=app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        await http.post("/webhooks/plugsurfing", headers={"authorization": "good"})
        await http.post("/webhooks/plugsurfing", headers={"authorization": "bad"})
        await http.post("/webhooks/plugsurfing", headers={"authorization": "bad"})
        await http.post("/webhooks/elsewhere")  # not a provider: not a label
        samples = parse((await http.get("/metrics")).text)
    assert value(samples, "bff_webhooks_total", provider="PLUGSURFING", status="200") == 1
    assert value(samples, "bff_webhooks_total", provider="PLUGSURFING", status="401") == 2
    assert value(samples, "bff_webhooks_total") == 3


def test_operation_labels_are_bounded() -> None:
    metrics = Metrics(max_operation_names=2)
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("has space") == "invalid"
    assert metrics.operation_label("A", trusted=False) == "other"  # only trusted ones add
    assert metrics.operation_label("A") == "A"
    assert metrics.operation_label("A", trusted=False) == "A"  # a known name is itself
    assert metrics.operation_label("B") == "B"
    assert metrics.operation_label("C") == "other"
    assert metrics.operation_label("A") == "A"
    metrics.error("not a code")
    metrics.error("RATE_LIMITED")
    samples = parse(metrics.exposition().decode())
    assert value(samples, "bff_graphql_errors_total", code="UNKNOWN") == 1
    assert value(samples, "bff_graphql_errors_total", code="RATE_LIMITED") == 1


def test_each_app_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.webhook("ROAMING", 200)
    assert value(parse(a.exposition().decode()), "bff_webhooks_total") == 1
    assert value(parse(b.exposition().decode()), "bff_webhooks_total") == 0
