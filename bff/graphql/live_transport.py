"""graphql-transport-ws with shared subscriptions: one execution per update per distinct
(operation, variables, driver), whatever the number of sockets that asked for it.

A ``subscribe`` for a subscription operation joins the feed for its key
(:mod:`bff.graphql.fanout`), then runs the resolver once on its own for the
subscriber's checks and current state (sent as Strawberry sends any result), then sends
the feed's serialized results that are newer than what it sent. Queries and mutations
over the socket, and documents that do not parse, take Strawberry's own path.

A feed's run executes straight on graphql-core (:mod:`bff.graphql.feed_stream`); each
subscriber's own run on a twin of the schema without the per-operation metrics
extension. The transport counts subscriptions, deliveries and errors per socket.
The view that uses this handler is :class:`bff.graphql.live_view.LiveGraphQL`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from contextlib import aclosing, suppress
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, OperationType, get_operation_ast
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    Operation,
    _OperationStreamClosed,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from bff.errors import Unauthenticated
from bff.graphql.context import Context
from bff.graphql.fanout import FeedKey, Finish, Send, Sink, Stream
from bff.graphql.live import LiveRun
from bff.graphql.ws_handler import LeanWSHandler
from bff.service.partial import ProviderFailures

if TYPE_CHECKING:
    from bff.graphql.live_view import SharedSubscriptions
    from bff.observability.metrics import Metrics

log = logging.getLogger(__name__)

#: How long a subscriber waits for a new feed to be subscribed to its channel.
SETTLE_SECONDS = 15.0


class SharedSubscriptionsWSHandler(LeanWSHandler):
    """Strawberry's graphql-transport-ws handler (with persisted queries), sharing
    subscription executions through :class:`~bff.graphql.fanout.Feeds`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Subscriptions whose sink delivers (no task of their own): id -> (sink, name).
        self._attached: dict[str, tuple[Sink, str | None]] = {}

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        shared = getattr(self.view, "shared", None)
        key = self._feed_key(shared, operation) if shared is not None else None
        if shared is None or key is None:
            await super().run_operation(operation)
            return
        try:
            await self._run_shared(shared, key[0], key[1], operation)
        except (_OperationStreamClosed, WebSocketDisconnected):
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    def _feed_key(
        self, shared: SharedSubscriptions, operation: Operation[Context, None]
    ) -> tuple[FeedKey, str | None] | None:
        """The feed key and operation name of a subscription operation, else None."""
        try:
            doc = shared.documents.parse(operation.query, {"max_tokens": shared.max_tokens})
            op = get_operation_ast(doc, operation.operation_name)
            if op is None or op.operation is not OperationType.SUBSCRIPTION:
                return None
            driver = self.context.driver_id()
            variables = json.dumps(operation.variables or {}, sort_keys=True, separators=(",", ":"))
        except (GraphQLError, TypeError, ValueError, Unauthenticated):
            return None  # Strawberry's path reports it (4400, or an error message)
        name = op.name.value if op.name else None
        # One copy of the text for every subscription that sends it (not one per socket).
        operation.query = sys.intern(operation.query)
        return (operation.query, operation.operation_name, variables, driver), name

    def _context(self, run: LiveRun) -> Context:
        return dataclasses.replace(
            self.context, live=run, failures=ProviderFailures(), _loaders=None
        )

    def _metrics(self) -> Metrics | None:
        state = getattr(getattr(self.context.request, "app", None), "state", None)
        return getattr(state, "metrics", None)

    async def _stream(
        self, shared: SharedSubscriptions, op: Operation[Context, None], run: LiveRun
    ) -> Stream:
        source: Stream = await shared.schema.subscribe(
            op.query,
            variable_values=op.variables,
            context_value=self._context(run),
            root_value=self.root_value,
            operation_name=op.operation_name,
        )
        return source

    async def _run_shared(
        self,
        shared: SharedSubscriptions,
        key: FeedKey,
        name: str | None,
        operation: Operation[Context, None],
    ) -> None:
        metrics = self._metrics()
        sink = shared.feeds.join(
            key,
            lambda run: shared.feed.results(
                operation.query,
                operation.operation_name,
                operation.variables,
                self._context(run),
                self.root_value,
                run,
            ),
        )
        attached = counted = False

        def count_start() -> None:  # once it validated: only then may its name be a label
            nonlocal counted
            if metrics is not None and not counted:
                metrics.operation(name, "subscription", None)
                metrics.subscription_started(name)
            counted = True

        try:
            await sink.feed.settled(SETTLE_SECONDS)
            # This subscriber's own run: its checks and its current state.
            run = LiveRun(initial=True)
            source = await self._stream(shared, operation, run)
            first = True
            async with aclosing(source):
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        _count_errors(metrics, result)
                        await self._handle_pre_execution_error(operation, result)
                        return
                    count_start()
                    first = False
                    if not isinstance(result, ExecutionResult):
                        await self._reject_incremental_delivery(operation)
                        return
                    marked, run.event = run.event, None
                    await operation.send_next(result)
                    _count(metrics, name, result)
                    if marked is not None:
                        sink.record(marked)
            if not run.authorized:  # its error went out as a result
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
                return
            count_start()  # (a run may send nothing at first)
            send, finish = self._delivery(shared, operation, name, metrics)
            # From here the sink delivers: this task ends, the subscription stays.
            if sink.attach(send, finish):
                self._attached[operation.id] = (sink, name)
                attached = True
            else:
                await finish(sink.feed.failure)
        finally:
            if not attached:
                shared.feeds.leave(sink)
            if counted and not attached and metrics is not None:
                metrics.subscription_ended(name)

    def _delivery(
        self,
        shared: SharedSubscriptions,
        operation: Operation[Context, None],
        name: str | None,
        metrics: Metrics | None,
    ) -> tuple[Send, Finish]:
        """How the feed's payloads reach this subscriber, and how it ends."""
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        counter = metrics.deliveries.labels(metrics.operation_label(name)) if metrics else None

        async def send(payload: str) -> None:
            if operation.completed:
                return
            await self._send_text(prefix + payload + "}")
            if counter is not None:
                counter.inc()

        async def finish(failure: str | None) -> None:
            try:
                if failure is not None:
                    await send(failure)
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            except (WebSocketDisconnected, WebSocketDisconnect):
                pass  # the socket went first: its handler cleans up
            finally:
                self._detach(operation.id)

        return send, finish

    def _detach(self, operation_id: str) -> None:
        entry = self._attached.pop(operation_id, None)
        if entry is None:
            return
        sink, name = entry
        shared: SharedSubscriptions = getattr(self.view, "shared")  # noqa: B009
        shared.feeds.leave(sink)
        metrics = self._metrics()
        if metrics is not None:
            metrics.subscription_ended(name)

    async def cleanup_operation(self, operation_id: str) -> None:
        self._detach(operation_id)
        await super().cleanup_operation(operation_id)


def _count(metrics: Metrics | None, name: str | None, result: ExecutionResult) -> None:
    if metrics is None:
        return
    if result.data is not None:
        metrics.delivered(name)
    _count_errors(metrics, result)


def _count_errors(metrics: Metrics | None, result: Any) -> None:
    if metrics is None:
        return
    for error in getattr(result, "errors", None) or ():
        metrics.error((error.extensions or {}).get("code"))
