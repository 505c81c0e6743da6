"""Which operation a request runs, on each transport (issue 12, items 4 and 5).

- A document with several operations and no ``operationName`` is an error (the spec's
  GetOperation), worded as graphql-core words it, and nothing in it runs.
- An unknown ``operationName`` is the same kind of error over HTTP and on the websocket
  (an ``error`` message for that id, not a masked internal error).
- A subscription sent over HTTP is told to use the websocket; a mutation sent with GET
  gets 405 (GraphQL-over-HTTP). The other refusals answer 200 with the error, as the
  server answers validation errors (GraphQL-over-HTTP, ``application/json``).

All against a running server: HTTP POST, HTTP GET and raw graphql-transport-ws sockets.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.e2e.flows import WARSAW, connector, stop
from tests.figures import Figures
from tests.hardening.support import control, error_codes, ws_message, ws_open
from tests.support import GraphQLClient, Server

MULTIPLE = "Must provide operation name if query contains multiple operations."
OVER_WS = "Subscriptions are served over the websocket (graphql-transport-ws), not over HTTP."
START_ROUTE = "POST /drive/v1/users/{user_id}/sessions/start"
# The mutation comes first: a server that ran the first operation would start a session.
START_AND_WHO = """
mutation Start($input: StartSessionInput!) {
  startSession(input: $input) { __typename ... on StartSessionSuccess { session { id } } }
}
query Who { viewer { id } }
"""
LIVE = 'subscription Live { sessionUpdated(id: "x") { id status } }'


async def post(client: GraphQLClient, body: dict[str, Any]) -> httpx.Response:
    return await client.http.post("/graphql", json=body, headers=client.headers())


async def get(client: GraphQLClient, body: dict[str, Any]) -> httpx.Response:
    params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in body.items()}
    return await client.http.get("/graphql", params=params,
                                 headers={**client.headers(), "accept": "application/json"})


async def over_ws(server: Server, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """The first message answering a ``subscribe`` of ``body``; the socket is then shown
    to be still usable (a query on it answers)."""
    ws = await ws_open(server, token)
    try:
        assert (await ws_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "op", "type": "subscribe", "payload": body}))
        answer = await ws_message(ws)
        await ws.send(json.dumps({"id": "after", "type": "subscribe",
                                  "payload": {"query": "{ __typename }"}}))
        after = await ws_message(ws)
        while after.get("id") == "op":  # the end of the first operation, if it ran
            after = await ws_message(ws)
        assert after == {"id": "after", "type": "next",
                         "payload": {"data": {"__typename": "Query"}}}, after
        return answer
    finally:
        await ws.close()


def refused(response: httpx.Response, message: str, code: str, status: int = 200) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body.get("data") is None, body
    assert [e["message"] for e in body["errors"]] == [message], body
    assert error_codes(body) == [code], body


def refused_ws(message: dict[str, Any], text: str, code: str) -> None:
    assert message["type"] == "error" and message["id"] == "op", message
    assert [e["message"] for e in message["payload"]] == [text], message
    assert [e["extensions"]["code"] for e in message["payload"]] == [code], message


async def starts(server: Server) -> int:
    stats = await control(server, "plugsurfing", "/_control/stats")
    return int(stats.get(START_ROUTE, 0))


async def test_several_operations_without_a_name_run_nothing(
    server: Server, client: GraphQLClient, figures: Figures
) -> None:
    conn = await connector(client, WARSAW, skip=6)
    body = {"query": START_AND_WHO, "variables": {"input": {"connectorId": conn}}}
    before = await starts(server)
    refused(await post(client, body), MULTIPLE, "OPERATION_RESOLUTION_FAILURE")
    refused(await get(client, body), MULTIPLE, "OPERATION_RESOLUTION_FAILURE")
    refused_ws(await over_ws(server, client.token, body), MULTIPLE,
               "OPERATION_RESOLUTION_FAILURE")
    assert await starts(server) == before, "the mutation in the document ran"
    # Named, the same document's mutation does reach the provider (so +0 above means
    # nothing ran), and its other operation runs on its own.
    started = await post(client, {**body, "operationName": "Start"})
    result = started.json()["data"]["startSession"]
    if result["__typename"] == "StartSessionSuccess":
        assert await starts(server) == before + 1
        await stop(client, result["session"]["id"])
    else:  # another test's session holds the connector: no provider call either way
        assert result["__typename"] == "ConnectorCoolingDown", result
    who = await post(client, {**body, "operationName": "Who"})
    assert who.json() == {"data": {"viewer": {"id": who.json()["data"]["viewer"]["id"]}}}
    figures("operation selection: 2 operations without operationName -> "
            "OPERATION_RESOLUTION_FAILURE on POST/GET/ws, provider start calls +0")


async def test_an_unknown_operation_name_is_a_graphql_error_everywhere(
    server: Server, client: GraphQLClient, figures: Figures
) -> None:
    unknown = "Unknown operation named 'Nope'."
    for query in (LIVE, "query Who { viewer { id } }"):  # the shared and the plain ws path
        body = {"query": query, "operationName": "Nope"}
        refused(await post(client, body), unknown, "OPERATION_RESOLUTION_FAILURE")
        refused(await get(client, body), unknown, "OPERATION_RESOLUTION_FAILURE")
        refused_ws(await over_ws(server, client.token, body), unknown,
                   "OPERATION_RESOLUTION_FAILURE")
    # A document with no operation at all says so (no plain-text 400, no masked error).
    body = {"query": "fragment F on Query { __typename }"}
    refused(await post(client, body), "Must provide an operation.",
            "OPERATION_RESOLUTION_FAILURE")
    refused_ws(await over_ws(server, client.token, body), "Must provide an operation.",
               "OPERATION_RESOLUTION_FAILURE")
    figures("operation selection: unknown operationName -> OPERATION_RESOLUTION_FAILURE "
            "on POST/GET/ws (subscription and query documents)")


async def test_subscriptions_over_http_and_mutations_over_get(
    server: Server, client: GraphQLClient, figures: Figures
) -> None:
    for body in ({"query": LIVE}, {"query": LIVE, "operationName": "Live"},
                 {"query": f"{LIVE} query Who {{ viewer {{ id }} }}", "operationName": "Live"}):
        refused(await post(client, body), OVER_WS, "BAD_REQUEST")
        refused(await get(client, body), OVER_WS, "BAD_REQUEST")
    # The same subscription over the websocket runs (its own check answers, no error).
    answer = await over_ws(server, client.token, {"query": LIVE})
    assert answer["type"] == "next" and error_codes(answer["payload"]) == ["BAD_USER_INPUT"]

    conn = await connector(client, WARSAW, skip=6)
    body = {"query": START_AND_WHO, "operationName": "Start",
            "variables": {"input": {"connectorId": conn}}}
    before = await starts(server)
    r = await get(client, body)
    refused(r, "Mutations are sent with POST, not GET.", "BAD_REQUEST", status=405)
    assert r.headers["allow"] == "POST"
    assert await starts(server) == before
    # A query in the same document runs over GET.
    who = await get(client, {**body, "operationName": "Who"})
    assert who.status_code == 200 and "errors" not in who.json(), who.text
    figures("operation selection: subscription over HTTP -> 200 BAD_REQUEST "
            "(POST/GET, 'use the websocket'); mutation over GET -> 405 Allow: POST, not run")
