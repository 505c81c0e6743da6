"""Operation limits (depth, aliases, tokens, page size, operations per socket), the
production switches (no introspection, no GraphiQL), browser origins, and the per-driver
mutation rate limit shared by two replicas."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from graphql import Source, TokenKind
from graphql.language import Lexer

from bff import ids
from bff.domain.model import Provider
from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.hardening.support import error_codes, ws_message, ws_open, ws_url
from tests.support import GraphQLClient, Server

APP_ORIGIN = "https://app.example.com"
RATE = 5
STOP = """mutation Stop($id: ID!) { stopSession(id: $id) {
  __typename ... on RateLimited { message retryAfterSeconds } } }"""


@pytest.fixture(scope="module")
def prod(redis_url: str) -> Iterator[tuple[Server, Server]]:
    """Two replicas configured for production (sharing Redis and one sandbox)."""
    env = {**FAST_ENV, "BFF_INTROSPECTION": "false", "BFF_GRAPHIQL": "false",
           "BFF_MAX_OPERATIONS_PER_SOCKET": "3", "BFF_ALLOWED_ORIGINS": json.dumps([APP_ORIGIN]),
           "BFF_MUTATION_RATE_PER_MINUTE": str(RATE)}
    a = Server(env)
    a.start()
    b = Server({**env, "BFF_SANDBOX_URL": f"{a.url}/_sandbox"})
    try:
        b.start()
        yield a, b
    finally:
        b.stop()
        a.stop()


def nested(depth: int) -> str:
    """A selection of depth ``depth`` as the limiter counts it (``{ a }`` is 0), i.e.
    ``depth + 1`` fields deep; the schema has no path that deep, only the depth rule's
    verdict matters here."""
    fields = depth + 1
    return "{ " + " { ".join(f"f{i}" for i in range(fields)) + " }" * fields


def count_tokens(query: str) -> int:
    lexer, n = Lexer(Source(query)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        n += 1
    return n


def messages(body: dict[str, Any]) -> list[str]:
    return [e["message"] for e in body.get("errors") or []]


async def test_depth_aliases_tokens_and_page_size_limits(
    client: GraphQLClient, figures: Figures
) -> None:
    depth_msg = "exceeds maximum operation depth of 12"
    deep = await client.execute(nested(13))
    assert any(depth_msg in m for m in messages(deep)) and deep.get("data") is None
    assert set(error_codes(deep)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert not any(depth_msg in m for m in messages(await client.execute(nested(12))))

    def aliased(n: int) -> str:
        return "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(n)) + " }"

    ok = await client.execute(aliased(30))
    assert "errors" not in ok and len(ok["data"]) == 30
    many = await client.execute(aliased(31))
    assert many.get("data") is None and error_codes(many) == ["GRAPHQL_VALIDATION_FAILED"]

    def tokens(n: int) -> str:
        """A valid query of ``n`` tokens (counted as the parser does)."""
        head = "{ viewer { sessions(first: 1, filter: {statuses: ["
        tail = "]}) { edges { node { id } } } } }"
        query = head + tail
        return head + "COMPLETED " * (n - count_tokens(query)) + tail

    fits = await client.execute(tokens(1990))
    assert "errors" not in fits, fits
    big = await client.execute(tokens(2010))
    assert big.get("data") is None and error_codes(big) == ["GRAPHQL_PARSE_FAILED"]
    assert "2000 tokens" in messages(big)[0]

    near = {"latitude": 52.290056, "longitude": 20.907028}
    assert "errors" not in await client.op("NearbyChargers", near=near, radiusMeters=500,
                                           first=100)
    for op, args in (("NearbyChargers", {"near": near, "radiusMeters": 500}),
                     ("SessionHistory", {})):
        r = await client.op(op, first=101, **args)
        assert error_codes(r) == ["BAD_USER_INPUT"], r
    figures("operation limits: depth 13 refused (12 allowed), 31 aliases refused (30 ran), "
            "2010 tokens refused (1990 ran), first=101 refused (100 ran)")


async def test_introspection_and_graphiql_are_off_in_production(
    prod: tuple[Server, Server], server: Server, client: GraphQLClient, figures: Figures
) -> None:
    a, _ = prod
    c = GraphQLClient(a, a.token("prod-driver"))
    try:
        for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }'):
            off = await c.execute(query)
            assert off.get("data") is None
            assert set(error_codes(off)) == {"GRAPHQL_VALIDATION_FAILED"}
            assert "introspection has been disabled" in off["errors"][0]["message"]
            on = await client.execute(query)  # the development server answers
            assert "errors" not in on, on
        assert (await c.execute("{ __typename }"))["data"] == {"__typename": "Query"}
        # Nor do validation errors suggest field names (the development server does).
        typo = "{ viewer { idd } }"
        hidden, shown = (await c.execute(typo))["errors"][0], (await client.execute(typo))["errors"][0]
        assert hidden["message"] == "Cannot query field 'idd' on type 'Viewer'.", hidden
        assert "Did you mean 'id'?" in shown["message"], shown
        html = {"accept": "text/html"}
        assert (await c.http.get("/graphql", headers=html)).status_code == 404
        assert (await c.http.get("/static/vendor/manifest.json")).status_code == 404
        assert (await client.http.get("/graphql", headers=html)).status_code == 200
    finally:
        await c.aclose()
    figures("production switches: introspection refused (GRAPHQL_VALIDATION_FAILED), "
            "GraphiQL 404")


async def test_operations_per_socket_are_capped(prod: tuple[Server, Server],
                                                figures: Figures) -> None:
    a, _ = prod
    token = a.token(f"socket-{uuid.uuid4().hex[:6]}")
    ws = await ws_open(a, token)
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        query = GraphQLClient(a, None).ops["MySessions"]
        for i in range(4):
            await ws.send(json.dumps({"id": f"s{i}", "type": "subscribe",
                                      "payload": {"query": query}}))
        refused = await ws_message(ws)
        assert refused == {"id": "s3", "type": "error", "payload": [
            {"message": "Subscription limit reached",
             "extensions": {"code": "TOO_MANY_OPERATIONS"}}]}, refused
        await ws.send(json.dumps({"id": "s0", "type": "complete"}))
        # A place is free again: the next subscribe runs (no error arrives for it).
        await ws.send(json.dumps({"id": "s4", "type": "subscribe",
                                  "payload": {"query": query}}))
        await ws.send(json.dumps({"id": "s5", "type": "subscribe",
                                  "payload": {"query": query}}))
        again = await ws_message(ws)
        assert again["id"] == "s5" and again["type"] == "error", again
    finally:
        await ws.close()
    figures("operations per socket (BFF_MAX_OPERATIONS_PER_SOCKET=3): the 4th refused")


async def handshake(server: Server, origin: str | None) -> int:
    """The HTTP status of a websocket handshake (101 when accepted)."""
    headers = {"Origin": origin} if origin else {}
    try:
        ws = await websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                      additional_headers=headers)
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)
    await ws.close()
    return 101


async def test_browser_origins(prod: tuple[Server, Server], server: Server,
                               figures: Figures) -> None:
    a, _ = prod
    assert await handshake(a, APP_ORIGIN) == 101
    assert await handshake(a, None) == 101, "no Origin: not a browser, the token decides"
    assert await handshake(a, a.url) == 101, "same origin"
    refused = [o for o in ("https://evil.example", "null", "http://app.example.com",
                           "https://app.example.com.evil.example")
               if await handshake(a, o) == 403]
    assert len(refused) == 4, refused
    # The development server (no BFF_ALLOWED_ORIGINS) admits only itself.
    assert await handshake(server, "https://evil.example") == 403
    assert await handshake(server, server.url) == 101
    async with httpx.AsyncClient(base_url=a.url) as http:
        pre = {"access-control-request-method": "POST",
               "access-control-request-headers": "authorization,content-type"}
        ok = await http.options("/graphql", headers={**pre, "origin": APP_ORIGIN})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == APP_ORIGIN
        bad = await http.options("/graphql", headers={**pre, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers
    figures("origins: websocket handshakes from 4 foreign origins answered 403; allowed, "
            "same-origin and Origin-less ones 101; CORS only for BFF_ALLOWED_ORIGINS")


async def test_mutation_rate_limit_is_shared_by_replicas(
    prod: tuple[Server, Server], figures: Figures
) -> None:
    a, b = prod
    driver = f"busy-{uuid.uuid4().hex[:8]}"
    clients = [GraphQLClient(a, a.token(driver)), GraphQLClient(b, b.token(driver))]
    calm = GraphQLClient(b, b.token(f"calm-{uuid.uuid4().hex[:8]}"))
    try:
        unknown = ids.encode(ids.SESSION, Provider.PLUGSURFING, "nope")
        results = []
        for i in range(RATE + 2):  # alternating replicas
            data = await clients[i % 2].execute(STOP, {"id": unknown})
            results.append(data["data"]["stopSession"])
        kinds = [r["__typename"] for r in results]
        assert kinds == ["NotFound"] * RATE + ["RateLimited"] * 2, kinds
        retry = results[RATE]["retryAfterSeconds"]
        assert 1 <= retry <= 60 // RATE, retry
        other = (await calm.execute(STOP, {"id": unknown}))["data"]
        assert other["stopSession"]["__typename"] == "NotFound", "another driver is not limited"
        # Another mutation type draws on the same budget.
        abandon = await clients[0].data("AbandonSession", id=unknown)
        assert abandon["abandonSession"]["__typename"] == "RateLimited"
    finally:
        await asyncio.gather(*(c.aclose() for c in [*clients, calm]))
    figures(f"mutation rate limit {RATE}/min over 2 replicas: {RATE} ran, the next "
            f"RateLimited (retryAfterSeconds={retry}); another driver unaffected")
