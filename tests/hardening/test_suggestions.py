"""With introspection off, no error suggests a name of the schema (issue 12, item 6).

"Did you mean ...?" hands out the schema piecemeal: field, argument and type names,
enum values, input fields. Every validation rule and coercion step that suggests is
sent to a server with ``BFF_INTROSPECTION=false`` (over HTTP, and over the websocket on
both its paths: shared subscriptions and Strawberry's own) and to the development server,
which still suggests. Both answer the same errors otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from tests.conftest import FAST_ENV
from tests.figures import Figures
from tests.hardening.support import error_codes, ws_message, ws_open
from tests.support import GraphQLClient, Server

EDGES = "{ edges { cursor } }"
HINT = "Did you mean"


class Case(NamedTuple):
    kind: str
    query: str
    variables: dict[str, Any] | None = None


#: One request per rule or coercion step that suggests (graphql-core 3.3), over HTTP.
HTTP_CASES = [
    Case("unknown field (FieldsOnCorrectType)", "{ viewer { idd } }"),
    Case("field of an abstract type (FieldsOnCorrectType: inline fragment types)",
         '{ node(id: "x") { status } }'),
    Case("unknown argument (KnownArgumentNames)",
         f"{{ viewer {{ sessions(frist: 1) {EDGES} }} }}"),
    Case("unknown directive argument (KnownArgumentNames)",
         "{ viewer { id @include(iff: true) } }"),
    Case("unknown type of a variable (KnownTypeNames)",
         "query Q($p: GeoPointInputt!) { chargers(near: $p, radiusMeters: 5) { __typename } }"),
    Case("unknown fragment type condition (KnownTypeNames)",
         '{ node(id: "x") { ... on ChargingSesion { id } } }'),
    Case("unknown named fragment type (KnownTypeNames)",
         '{ node(id: "x") { ...F } } fragment F on Chargr { id }'),
    Case("enum literal (ValuesOfCorrectType)",
         f"{{ viewer {{ sessions(filter: {{statuses: [CHARGIN]}}) {EDGES} }} }}"),
    Case("input object field literal (ValuesOfCorrectType)",
         f"{{ chargers(near: {{latitud: 1, longitude: 2}}, radiusMeters: 5) {EDGES} }}"),
    Case("enum value in variables (variable coercion)",
         f"query Q($f: SessionFilter) {{ viewer {{ sessions(filter: $f) {EDGES} }} }}",
         {"f": {"statuses": ["CHARGIN"]}}),
    Case("input object field in variables (variable coercion)",
         f"query Q($p: GeoPointInput!) {{ chargers(near: $p, radiusMeters: 5) {EDGES} }}",
         {"p": {"latitud": 1, "longitude": 2}}),
]
#: The websocket: subscriptions take the shared path, queries Strawberry's.
WS_CASES = [
    Case("subscription: unknown argument", 'subscription { sessionUpdated(idd: "x") { id } }'),
    Case("subscription: unknown field",
         'subscription S($id: ID!) { sessionUpdated(id: $id) { statuss } }', {"id": "x"}),
    Case("subscription: unknown fragment type",
         'subscription { sessionUpdated(id: "x") { ... on ChargingSesion { id } } }'),
    Case("query over the socket: enum value in variables",
         f"query Q($f: SessionFilter) {{ viewer {{ sessions(filter: $f) {EDGES} }} }}",
         {"f": {"statuses": ["CHARGIN"]}}),
]


@pytest.fixture(scope="module")
def quiet(redis_url: str) -> Iterator[Server]:
    """A server with introspection off, as in production."""
    srv = Server({**FAST_ENV, "BFF_INTROSPECTION": "false", "BFF_GRAPHIQL": "false"})
    srv.start()
    yield srv
    srv.stop()


async def over_http(server: Server, token: str, case: Case) -> list[dict[str, Any]]:
    c = GraphQLClient(server, token)
    try:
        body = await c.execute(case.query, case.variables)
    finally:
        await c.aclose()
    assert body.get("data") is None and body.get("errors"), (case.kind, body)
    errors: list[dict[str, Any]] = body["errors"]
    return errors


async def over_ws(server: Server, token: str, cases: list[Case]) -> list[list[dict[str, Any]]]:
    """Each case's errors, from one socket (an ``error`` message, or a ``next`` with
    errors for variables that do not coerce)."""
    ws = await ws_open(server, token)
    answers: list[list[dict[str, Any]]] = []
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        for i, case in enumerate(cases):
            await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": {
                "query": case.query, "variables": case.variables or {}}}))
            msg = await ws_message(ws)
            assert msg["id"] == str(i) and msg["type"] in ("error", "next"), (case.kind, msg)
            errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
            if msg["type"] == "next":
                assert (await ws_message(ws))["type"] == "complete"
            answers.append(errors)
    finally:
        await ws.close()
    return answers


def messages(errors: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in errors]


async def test_no_suggestions_with_introspection_off(
    quiet: Server, server: Server, figures: Figures
) -> None:
    cases = HTTP_CASES + WS_CASES
    hidden = [await over_http(quiet, quiet.token("quiet"), c) for c in HTTP_CASES]
    hidden += await over_ws(quiet, quiet.token("quiet"), WS_CASES)
    shown = [await over_http(server, server.token("dev"), c) for c in HTTP_CASES]
    shown += await over_ws(server, server.token("dev"), WS_CASES)
    suggesting = 0
    for case, off, on in zip(cases, hidden, shown, strict=True):
        assert not any(HINT in m for m in messages(off)), (case.kind, off)
        assert any(HINT in m for m in messages(on)), (case.kind, on)
        # The same errors otherwise: each message is the development one without its hint.
        assert error_codes({"errors": off}) == error_codes({"errors": on}), (case.kind, off, on)
        for quiet_text, dev_text in zip(messages(off), messages(on), strict=True):
            if HINT in dev_text:
                suggesting += 1
                head = dev_text.split(HINT)[0].rstrip(" ")
                assert quiet_text.startswith(head.rstrip(".")), (case.kind, quiet_text, dev_text)
            else:
                assert quiet_text == dev_text, (case.kind, quiet_text, dev_text)
    figures(f"suggestions with introspection off: {len(cases)} kinds "
            f"({len(HTTP_CASES)} over POST, {len(WS_CASES)} over the websocket), "
            f"0 suggestions; development server: {suggesting} suggestions in "
            f"{len(cases)}/{len(cases)} kinds")
