"""Persisted queries in Strawberry's ASGI view: POST, GET and graphql-transport-ws, and
the operation each request may run there.

HTTP requests are resolved in ``execute_single`` (every non-batched HTTP operation goes
through it, and it has the sub-response whose status we set); websocket ``subscribe``
messages in the transport handler, before Strawberry reads ``payload.query``. The rules
are :class:`~bff.graphql.persisted.PersistedQueries`'; with no store attached (the
default), the view behaves like Strawberry's.

Then, at the same two places, the operation is chosen (:meth:`~PersistedQueryGraphQL.
refusal`) before Strawberry runs anything: Strawberry runs the first of several operations
when no ``operationName`` is given, answers an unknown name with a plain-text 400 (an
internal error on the websocket), and runs a subscription sent over HTTP as if it were a
query. Such requests get a GraphQL error with a code instead, and HTTP 200 as
GraphQL-over-HTTP asks for ``application/json`` responses (as validation errors get), but
a mutation over GET: 405, which GraphQL-over-HTTP requires whatever the media type.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from bff.graphql.context import Context
from bff.graphql.documents import SchemaDocuments
from bff.graphql.persisted import PersistedQueries, PersistedQueryRefused, not_supported

#: The code of an operation this transport does not run (Apollo Server's name for it).
BAD_REQUEST = "BAD_REQUEST"
#: A run with one of these errors did not parse or validate: its query is not stored.
_UNRUNNABLE = {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"}
#: What a subscription sent over HTTP is told.
SUBSCRIPTIONS_OVER_WS = (
    "Subscriptions are served over the websocket (graphql-transport-ws), not over HTTP."
)
#: What a mutation sent with GET is told (with 405 and ``Allow: POST``).
MUTATIONS_OVER_POST = "Mutations are sent with POST, not GET."


class PersistedQueryWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with ``payload.extensions.persistedQuery`` (lookups, and the
    allow-list in ``only`` mode; queries are registered over HTTP, as Apollo's link does)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        if (
            not isinstance(payload, dict)
            or not self.connection_acknowledged
            or message.get("id") in self.operations
        ):
            await super().handle_subscribe(message)  # Strawberry's own checks and closes
            return
        store: PersistedQueries | None = getattr(self.view, "persisted", None)
        if store is not None:
            try:
                resolved = await store.resolve(payload.get("query"), payload.get("extensions"))
            except PersistedQueryRefused as exc:
                await self._refuse(message["id"], exc.error())
                return
            payload = {**payload, "query": resolved.query}
            message = {**message, "payload": payload}
        if isinstance(self.view, PersistedQueryGraphQL):
            refused = self.view.refusal(payload.get("query"), payload.get("operationName"), "WS")
            if refused is not None:
                await self._refuse(message["id"], refused[0])
                return
        await super().handle_subscribe(message)

    async def _refuse(self, operation_id: str, error: GraphQLError) -> None:
        """graphql-transport-ws's ``error`` for an operation that does not start."""
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})


class PersistedQueryGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with persisted queries once :attr:`persisted` is set."""

    persisted: PersistedQueries | None = None
    graphql_transport_ws_handler_class = PersistedQueryWSHandler
    _documents: SchemaDocuments | None = None

    def refusal(
        self, query: object, operation_name: object, method: str
    ) -> tuple[GraphQLError, int] | None:
        """Why the operation ``query`` and ``operation_name`` choose does not run over
        ``method`` (``GET``, ``POST`` or ``WS``), with the HTTP status to answer; None
        to run it (a query that is missing or does not parse is Strawberry's to report)."""
        if not isinstance(query, str):
            return None
        if self._documents is None:
            self._documents = SchemaDocuments.of(self.schema)
        name = operation_name if isinstance(operation_name, str) else None
        operation = self._documents.operation(query, name)
        if operation is None:
            return None
        if isinstance(operation, GraphQLError):
            return operation, 200
        if method != "WS" and operation.operation is OperationType.SUBSCRIPTION:
            return GraphQLError(SUBSCRIPTIONS_OVER_WS, extensions={"code": BAD_REQUEST}), 200
        if method == "GET" and operation.operation is OperationType.MUTATION:
            return GraphQLError(MUTATIONS_OVER_POST, extensions={"code": BAD_REQUEST}), 405
        return None

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # An APQ GET has no `query`, and Apollo Client sends `Accept: */*`: Strawberry
        # would answer it with the IDE page.
        if request.query_params.get("extensions") is not None:
            return False
        return super().should_render_graphql_ide(request)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        store, register = self.persisted, None
        if store is None:
            if request_data.query is None and _asks_persisted(request_data.extensions):
                # Apollo's link turns itself off on this code instead of failing.
                exc = not_supported()
                return ExecutionResult(data=None, errors=[exc.error()])
        else:
            try:
                resolved = await store.resolve(request_data.query, request_data.extensions)
            except PersistedQueryRefused as exc:
                if exc.status != 200:
                    sub_response.status_code = exc.status
                return ExecutionResult(data=None, errors=[exc.error()])
            request_data = dataclasses.replace(request_data, query=resolved.query)
            register = resolved.register
        refused = self.refusal(
            request_data.query, request_data.operation_name, request_adapter.method
        )
        if refused is not None:
            error, status = refused
            if status != 200:
                sub_response.status_code = status
            if status == 405:
                sub_response.headers["allow"] = "POST"
            return ExecutionResult(data=None, errors=[error])
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if store is not None and register and request_data.query and _ran(result):
            await store.register(register, request_data.query)
        return result


def _ran(result: ExecutionResult) -> bool:
    return not any((e.extensions or {}).get("code") in _UNRUNNABLE for e in result.errors or ())


def _asks_persisted(extensions: dict[str, Any] | None) -> bool:
    return isinstance(extensions, dict) and "persistedQuery" in extensions
