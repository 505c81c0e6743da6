"""Persisted queries in Strawberry's ASGI view: POST, GET and graphql-transport-ws.

HTTP requests are resolved in ``execute_single`` (every non-batched HTTP operation goes
through it, and it has the sub-response whose status we set); websocket ``subscribe``
messages in the transport handler, before Strawberry reads ``payload.query``. The rules
are :class:`~bff.graphql.persisted.PersistedQueries`'; with no store attached (the
default), the view behaves like Strawberry's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
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
from bff.graphql.persisted import PersistedQueries, PersistedQueryRefused, not_supported

#: A run with one of these errors did not parse or validate: its query is not stored.
_UNRUNNABLE = {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"}


class PersistedQueryWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with ``payload.extensions.persistedQuery`` (lookups, and the
    allow-list in ``only`` mode; queries are registered over HTTP, as Apollo's link does)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        store: PersistedQueries | None = getattr(self.view, "persisted", None)
        payload: Any = message.get("payload")
        if (
            store is None
            or not isinstance(payload, dict)
            or not self.connection_acknowledged
            or message.get("id") in self.operations
        ):
            await super().handle_subscribe(message)  # Strawberry's own checks and closes
            return
        try:
            resolved = await store.resolve(payload.get("query"), payload.get("extensions"))
        except PersistedQueryRefused as exc:
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [exc.error().formatted]}
            )
            return
        payload = {**payload, "query": resolved.query}
        await super().handle_subscribe({**message, "payload": payload})


class PersistedQueryGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with persisted queries once :attr:`persisted` is set."""

    persisted: PersistedQueries | None = None
    graphql_transport_ws_handler_class = PersistedQueryWSHandler

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
        store = self.persisted
        if store is None:
            if request_data.query is None and _asks_persisted(request_data.extensions):
                # Apollo's link turns itself off on this code instead of failing.
                exc = not_supported()
                return ExecutionResult(data=None, errors=[exc.error()])
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        try:
            resolved = await store.resolve(request_data.query, request_data.extensions)
        except PersistedQueryRefused as exc:
            if exc.status != 200:
                sub_response.status_code = exc.status
            return ExecutionResult(data=None, errors=[exc.error()])
        result = await super().execute_single(
            request,
            request_adapter,
            sub_response,
            context,
            root_value,
            dataclasses.replace(request_data, query=resolved.query),
        )
        if resolved.register and resolved.query and _ran(result):
            await store.register(resolved.register, resolved.query)
        return result


def _ran(result: ExecutionResult) -> bool:
    return not any((e.extensions or {}).get("code") in _UNRUNNABLE for e in result.errors or ())


def _asks_persisted(extensions: dict[str, Any] | None) -> bool:
    return isinstance(extensions, dict) and "persistedQuery" in extensions
