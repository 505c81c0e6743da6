"""GraphQL over HTTP: ``GET /graphql`` (GraphiQL, or a query) and ``POST /graphql``.

A request the endpoint cannot read never reaches the engine and never answers 500: a
body over ``BFF_MAX_BODY_BYTES`` is refused with 413 from its ``Content-Length`` before
any of it is read, or, sent chunked, as soon as the bytes counted pass the cap; the body
is read and parsed once (:mod:`.reading`). Refusals answer GraphQL over HTTP's
``{"errors": [{"message", "extensions": {"code"}}]}`` and are logged at INFO: they are the
client's mistakes. Subscriptions need the websocket; mutations over GET answer 405.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from bff.errors import BadRequest
from bff.graphql.engine.engine import HTTP, QUERY_ONLY, Answer, Engine
from bff.graphql.engine.errors import extensions_for
from bff.graphql.engine.request import GraphQLRequest
from bff.graphql.schema.context import Context
from bff.graphql.transport.reading import parse_json, read_request
from bff.observability.metrics import Metrics
from bff.web import GraphiQLPage

log = logging.getLogger(__name__)


class GraphQLHTTP:
    """The request handler of ``GET`` and ``POST /graphql``."""

    def __init__(
        self,
        engine: Engine,
        context: Callable[[Request, str | None], Context],
        *,
        max_body_bytes: int,
        max_query_bytes: int,
        graphiql: GraphiQLPage | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.context = context
        self.max_body_bytes = max_body_bytes
        self.max_query_bytes = max_query_bytes
        self.graphiql = graphiql
        self.metrics = metrics

    async def handle(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                if _wants_page(request):
                    if self.graphiql is None:
                        return _json({"errors": [{"message": "Not Found"}]}, 404)
                    return self.graphiql.response(request)
                graphql_request = self._from_query_string(request)
                allowed = QUERY_ONLY
            else:
                graphql_request = read_request(await self._body(request), self.max_query_bytes)
                allowed = HTTP
        except BadRequest as exc:
            return self._refuse(exc)
        except ClientDisconnect:
            return self._refuse(BadRequest("the request body ended early"))
        prepared = await self.engine.prepare(graphql_request, allowed)
        if isinstance(prepared, Answer):
            return _respond(prepared, allow="POST" if prepared.status == 405 else None)
        context = self.context(request, request.headers.get("authorization"))
        await context.authenticate()
        answer = await self.engine.execute(
            prepared, context, context.failures.errors, trusted=context.authenticated
        )
        return _respond(answer)

    async def _body(self, request: Request) -> object:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            raise BadRequest("send the request as application/json", 415)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise BadRequest("Content-Length is not a number")
            if int(declared) > self.max_body_bytes:
                raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            if chunk:
                chunks.append(chunk)
        return parse_json(chunks[0] if len(chunks) == 1 else b"".join(chunks), "the body")

    def _from_query_string(self, request: Request) -> GraphQLRequest:
        raw = request.scope.get("query_string", b"")
        if len(raw) > self.max_body_bytes:
            raise BadRequest(f"the URL is over {self.max_body_bytes} bytes", 414,
                             "PAYLOAD_TOO_LARGE")  # fmt: skip
        params = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
        data: dict[str, object] = {k: params.get(k) for k in ("query", "operationName")}
        for key in ("variables", "extensions"):
            if params.get(key):
                data[key] = parse_json(params[key], f"`{key}`")
        return read_request(data, self.max_query_bytes, "the request")

    def _too_large(self) -> BadRequest:
        return BadRequest(
            f"the body is over {self.max_body_bytes} bytes", 413, "PAYLOAD_TOO_LARGE"
        )

    def _refuse(self, exc: BadRequest) -> Response:
        log.info("graphql request refused (%s): %s", exc.code, exc.message)
        if self.metrics is not None:
            self.metrics.error(exc.code)
        headers = {}
        if exc.status_code in (413, 414):
            # The rest of the body is not read: the connection cannot carry another request.
            headers["Connection"] = "close"
        body = {"errors": [{"message": exc.message, "extensions": extensions_for(exc)}]}
        return _json(body, exc.status_code, headers)


def _wants_page(request: Request) -> bool:
    params = request.query_params
    if "query" in params or "extensions" in params:
        return False
    return "text/html" in request.headers.get("accept", "")


def _respond(answer: Answer, allow: str | None = None) -> Response:
    headers = dict(answer.headers)
    if allow:
        headers["Allow"] = allow
    return _json(answer.payload, answer.status, headers)


def _json(payload: object, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status, headers, media_type="application/json")
