"""Traces, end to end: a real ``bff serve`` with tracing on exports over OTLP/HTTP (its
real exporter, protobuf) to a collector stand-in in this test (:class:`Collector`), which
decodes what it receives with opentelemetry-proto.

- a SessionHistory request is one trace: its server span, the operation's span, each
  provider's HTTP call (Plugsurfing, Plugchoice, the roaming platform), with the request
  id on them;
- no secret leaves in any span: Plugchoice session tokens (in its URLs' paths), a
  credential in a query string, driver tokens, the webhook and provider secrets;
- a webhook's trace goes on in the subscribers it fed: the ``graphql.event`` span of a
  LiveSession subscriber is a child of the webhook's server span.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from redis.asyncio import Redis

from bff import ids
from bff.domain.model import Provider
from bff.settings import Settings
from bff.store.records import SessionRecords
from tests.conftest import server_alone
from tests.e2e.flows import WARSAW, connector, start
from tests.e2e.test_aggregation import sessions_everywhere
from tests.support import GraphQLClient, Server, subscribe, wait_for

REQUEST_ID = "bff.request_id"
SERVER, CLIENT, CONSUMER = 2, 3, 5  # Span.SpanKind in the OTLP protobuf


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    attributes: dict[str, Any]


def _value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every request's bytes and spans."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                collector.receive(self.path, body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def receive(self, path: str, body: bytes) -> None:
        assert path == "/v1/traces", path
        request = ExportTraceServiceRequest.FromString(body)
        spans = [
            Span(
                s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(), s.name, s.kind,
                {a.key: _value(a.value) for a in s.attributes},
            )
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]
        with self.lock:
            self.bodies.append(body)
            self.spans.extend(spans)

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)

    def raw(self) -> bytes:
        with self.lock:
            return b"".join(self.bodies)

    async def wait(self, what: str, found: Callable[[list[Span]], Any], timeout: float = 30.0
                   ) -> Any:
        async def probe() -> Any:
            return found(self.snapshot())

        return await wait_for(probe, timeout, 0.05, what)


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    c = Collector()
    c.thread.start()
    yield c
    c.server.shutdown()
    c.server.server_close()


@pytest.fixture(scope="module")
def traced(redis_url: str, collector: Collector) -> Iterator[Server]:
    # A Redis database of its own: on the suite's, the sessions earlier tests left live
    # share the poll budget, and a fresh-clone run waited over 30 s for the first poll of
    # this test's Plugchoice session (whose span it looks for).
    with server_alone(redis_url, {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
        "OTEL_SERVICE_NAME": "bff-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s instead of 5 s
        # Every history reads each session's charger from its provider: a call to each.
        "BFF_CHARGER_CACHE_SECONDS": "0",
        # Webhook providers' sessions are not polled when quiet: a change is the
        # webhook's to publish, not a poll's that got there first.
        "BFF_QUIET_POLL_AFTER_SECONDS": "3600",
    }, db=8) as srv:  # fmt: skip
        yield srv


@pytest.fixture
async def client(traced: Server, driver: str) -> AsyncIterator[GraphQLClient]:
    c = GraphQLClient(traced, traced.token(driver))
    yield c
    await c.aclose()


def _trace(spans: list[Span], trace_id: str) -> list[Span]:
    return [s for s in spans if s.trace_id == trace_id]


def _by_provider(spans: list[Span]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for s in spans:
        if s.kind == CLIENT and "bff.provider" in s.attributes:
            out.setdefault(s.attributes["bff.provider"], []).append(s)
    return out


async def test_a_session_history_is_one_trace_with_each_providers_calls(
    client: GraphQLClient, traced: Server, collector: Collector, driver: str
) -> None:
    await sessions_everywhere(client, traced, driver)
    rid = f"history-{uuid.uuid4().hex}"
    r = await client.http.post(
        "/graphql",
        json={"query": client.ops["SessionHistory"], "variables": {"first": 20},
              "operationName": "SessionHistory"},
        headers={**client.headers(), "x-request-id": rid},
    )  # fmt: skip
    assert r.status_code == 200 and not r.json().get("errors"), r.text
    assert {e["node"]["provider"] for e in r.json()["data"]["viewer"]["sessions"]["edges"]} == {
        "PLUGSURFING", "PLUGCHOICE", "ROAMING"}  # fmt: skip

    def complete(spans: list[Span]) -> list[Span] | None:
        roots = [s for s in spans if s.kind == SERVER and s.attributes.get(REQUEST_ID) == rid]
        if not roots:
            return None
        mine = _trace(spans, roots[0].trace_id)
        return mine if len(_by_provider(mine)) == 3 else None

    spans = await collector.wait(f"the trace of request {rid}", complete)
    assert {s.trace_id for s in collector.snapshot() if s.attributes.get(REQUEST_ID) == rid} == {
        spans[0].trace_id}, "every span with the request id is in one trace"

    [root] = [s for s in spans if not s.parent_id]
    assert root.kind == SERVER and root.name == "POST /graphql"
    assert root.attributes[REQUEST_ID] == rid
    ids_ = {s.span_id for s in spans}
    assert all(s.parent_id in ids_ for s in spans if s is not root), "one tree"

    [operation] = [s for s in spans if s.name == "query SessionHistory"]
    assert operation.parent_id == root.span_id
    assert operation.attributes["graphql.operation.name"] == "SessionHistory"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes[REQUEST_ID] == rid

    calls = _by_provider(spans)
    assert set(calls) == {"PLUGSURFING", "PLUGCHOICE", "ROAMING"}
    for provider, made in calls.items():
        for call in made:
            assert call.attributes[REQUEST_ID] == rid, (provider, call)
            url = call.attributes.get("http.url") or call.attributes.get("url.full")
            assert url and f"/_sandbox/{provider.lower()}/" in url, (provider, call)
    redis = [s for s in spans if s.attributes.get("db.system") == "redis"]
    assert redis, "the Redis commands of the request are in its trace"
    for command in redis:  # "ZREVRANGEBYSCORE ? ? ?": never its keys or values
        assert driver not in str(command.attributes), command


async def test_no_secret_or_token_in_any_span(
    client: GraphQLClient, traced: Server, collector: Collector, driver: str
) -> None:
    started = await sessions_everywhere(client, traced, driver)
    rds = Redis.from_url(traced.env["BFF_REDIS_URL"])
    try:
        records = SessionRecords(rds)
        tokens = []
        for gid in started:
            ref = ids.decode(gid, ids.SESSION)
            record = await records.get(ref.provider, ref.key)
            if ref.provider is Provider.PLUGCHOICE:
                assert record is not None and record.extra.get("token")
                tokens.append(record.extra["token"])
    finally:
        await rds.aclose()
    assert tokens

    # A credential in a query string, on a request that is traced.
    secret_param = f"s3cr3t{uuid.uuid4().hex}"
    r = await client.http.get(
        "/graphql", params={"query": "{ __typename }", "access_token": secret_param},
        headers=client.headers(),
    )  # fmt: skip
    assert r.status_code == 200, r.text

    # Plugchoice is polled (it sends no webhooks): its session URLs, token in the path,
    # are provider calls in the poll spans; and the query string's server span is out.
    def redacted_token_url(spans: list[Span]) -> bool:
        urls = [str(s.attributes.get("http.url", "")) for s in spans if s.kind == CLIENT]
        return any("/public-charging/sessions/[redacted]" in u for u in urls)

    def query_string_span(spans: list[Span]) -> bool:
        return any("access_token=[redacted]" in str(s.attributes.get("http.url", ""))
                   for s in spans if s.kind == SERVER)  # fmt: skip

    await collector.wait("a Plugchoice session call, redacted", redacted_token_url)
    await collector.wait("the server span of the query string", query_string_span)

    settings = Settings()
    secrets = [
        *tokens,
        secret_param,
        client.token or "",
        settings.jwt_secret.get_secret_value(),
        settings.plugsurfing_client_secret.get_secret_value(),
        settings.plugsurfing_webhook_auth.get_secret_value(),
        settings.roaming_jwt_secret.get_secret_value(),
        settings.roaming_webhook_secret.get_secret_value(),
    ]
    raw = collector.raw()
    assert len(collector.snapshot()) > 20
    for secret in secrets:
        assert secret and secret.encode() not in raw, "a secret left in a span"
    for span in collector.snapshot():
        for key, value in span.attributes.items():
            text = str(value)
            assert "eyJ" not in text and "Bearer " not in text, (span.name, key, text)


async def test_a_webhooks_trace_goes_on_in_the_subscribers_it_fed(
    client: GraphQLClient, traced: Server, collector: Collector
) -> None:
    # Plugsurfing's sandbox sends a webhook on every change of the session's status.
    result = await start(client, await connector(client, WARSAW))
    assert result["__typename"] == "StartSessionSuccess", result
    sid = result["session"]["id"]
    async with subscribe(traced, client.token, client.ops["LiveSession"], {"id": sid},
                         "LiveSession") as sub:  # fmt: skip
        # Subscribed (its first state came), and charging: the stop's later states
        # (STOPPED, COMPLETED) reach the BFF as the sandbox's webhooks.
        for _ in range(50):
            state = (await sub.next())["data"]["sessionUpdated"]
            if state["status"] == "CHARGING":
                break
        stopped = await client.data("StopSession", id=sid)
        assert stopped["stopSession"]["__typename"] == "StopSessionSuccess", stopped

        def fed_by_a_webhook(spans: list[Span]) -> tuple[Span, Span] | None:
            webhooks = {
                s.span_id: s for s in spans
                if s.kind == SERVER and s.attributes.get("http.route") == "/webhooks/plugsurfing"
            }  # fmt: skip
            for s in spans:
                if s.name == "graphql.event" and s.parent_id in webhooks:
                    return webhooks[s.parent_id], s
            return None

        webhook, event = await collector.wait("a subscriber's event in a webhook's trace",
                                              fed_by_a_webhook, timeout=40)  # fmt: skip
    assert event.trace_id == webhook.trace_id and event.kind == CONSUMER
    assert event.attributes["graphql.operation.name"] == "LiveSession"
    assert event.attributes["graphql.operation.type"] == "subscription"
    assert webhook.name == "POST /webhooks/plugsurfing" and not webhook.parent_id


@pytest.mark.parametrize(
    ("env", "exporters"),
    [
        ({}, ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, ("console", "otlp")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, ()),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, ()),
    ],
)
def test_traces_are_on_only_when_the_otel_variables_ask(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], exporters: tuple[str, ...]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Settings().trace_exporters() == exporters


@pytest.mark.parametrize("env", [{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
                                 {"OTEL_TRACES_EXPORTER": "jaeger"}])  # fmt: skip
def test_what_cannot_be_exported_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=next(iter(env))):
        Settings()


def test_off_nothing_of_tracing_is_loaded() -> None:
    # redis-py imports OpenTelemetry's metrics API by itself once it is installed (its own
    # metrics, off unless configured): our tracing, the trace SDK, the instrumentations
    # and the exporters stay out.
    ours = ("bff.observability.otel", "opentelemetry.sdk.trace", "opentelemetry.instrumentation",
            "opentelemetry.exporter", "opentelemetry.propagate")
    code = (
        "import sys; from bff.app import serving_app; from bff.settings import Settings; "
        "serving_app(Settings()); "
        f"print(sorted(m for m in sys.modules if m.startswith({ours!r})))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "[]", out.stdout
