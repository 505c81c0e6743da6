"""GraphQL over HTTP: ``GET /graphql`` (GraphiQL, or a query) and ``POST /graphql``.

A request the endpoint cannot read never reaches the engine and never answers 500: a
body over ``BFF_MAX_BODY_BYTES`` is refused with 413 before it is read whole (also when
chunked); a body that is not JSON, not UTF-8, nested too deep, or not an object answers
400 with the reason, in GraphQL's error shape (``extensions.code = BAD_REQUEST``).
Subscriptions answer 400 (they need the websocket); mutations over GET 405.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graphql import OperationType
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from bff.errors import BadRequest
from bff.graphql.engine.engine import HTTP, QUERY_ONLY, Answer, Engine
from bff.graphql.engine.errors import extensions_for
from bff.graphql.engine.request import GraphQLRequest
from bff.graphql.schema.context import Context
from bff.web import GraphiQLPage


class GraphQLHTTP:
    """The endpoint (a Starlette request handler) for ``GET`` and ``POST /graphql``."""

    def __init__(
        self,
        engine: Engine,
        context: Callable[[Request, str | None], Context],
        *,
        max_body_bytes: int,
        graphiql: GraphiQLPage | None = None,
    ) -> None:
        self.engine = engine
        self.context = context
        self.max_body_bytes = max_body_bytes
        self.graphiql = graphiql

    async def handle(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                if _wants_page(request):
                    if self.graphiql is None:
                        return JSONResponse({"errors": [{"message": "Not Found"}]}, 404)
                    return self.graphiql.response(request)
                graphql_request = _from_query_params(request)
                allowed = QUERY_ONLY
            else:
                graphql_request = GraphQLRequest.of(await self._body(request))
                allowed = HTTP
        except BadRequest as exc:
            return _error(exc)
        except ClientDisconnect:
            return _error(BadRequest("the request body ended early"))
        prepared = await self.engine.prepare(graphql_request, allowed)
        if isinstance(prepared, Answer):
            return _respond(prepared, allow="POST" if prepared.status == 405 else None)
        context = self.context(request, request.headers.get("authorization"))
        await context.authenticate()
        answer = await self.engine.execute(prepared, context, context.failures.errors)
        return _respond(answer)

    async def _body(self, request: Request) -> object:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            raise BadRequest("send the request as application/json", 415)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise BadRequest(f"the body is larger than {self.max_body_bytes} bytes", 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise BadRequest(f"the body is larger than {self.max_body_bytes} bytes", 413)
        return parse_json(bytes(body))


def parse_json(raw: bytes | str) -> object:
    """A JSON document from a client, or :class:`BadRequest` saying what is wrong."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    try:
        return json.loads(text)
    except RecursionError:  # the C decoder stops at the interpreter's recursion limit
        raise BadRequest("the JSON is nested too deeply") from None
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None


def _wants_page(request: Request) -> bool:
    params = request.query_params
    if "query" in params or "extensions" in params:
        return False
    return "text/html" in request.headers.get("accept", "")


def _from_query_params(request: Request) -> GraphQLRequest:
    params = request.query_params
    data: dict[str, Any] = {
        "query": params.get("query"),
        "operationName": params.get("operationName"),
    }
    for name in ("variables", "extensions"):
        raw = params.get(name)
        if raw:
            data[name] = parse_json(raw)
    return GraphQLRequest.of(data)


def _error(exc: BadRequest) -> Response:
    return JSONResponse(
        {"errors": [{"message": exc.message, "extensions": extensions_for(exc)}]},
        exc.status_code,
    )


def _respond(answer: Answer, allow: str | None = None) -> Response:
    headers = dict(answer.headers)
    if allow:
        headers["Allow"] = allow
    return JSONResponse(answer.payload, answer.status, headers=headers)


__all__ = ["GraphQLHTTP", "OperationType", "parse_json"]
