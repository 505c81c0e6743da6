"""GraphQL over websockets: the graphql-transport-ws protocol, one handler per socket.

    connection_init  the payload's ``authorization`` ("Bearer ..."; a header on the
                     upgrade request is ignored) is verified: 4403 if it is not, else
                     ``connection_ack``; the socket then gets server pings and is closed
                     with 4403 when its token expires (:mod:`bff.server.sockets`)
    subscribe        any operation; a subscription joins its feed in the engine and
                     needs no task of its own (its sink delivers), a query or mutation
                     runs in a task and completes
    complete         the client stops one

Close codes are the protocol's: 4400 a message we cannot read (or a document that does
not parse), 4401 subscribe before the ack, 4403 bad credentials, 4406 no
graphql-transport-ws, 4408 no connection_init in time, 4409 an id in use, 4429 a second
connection_init. An operation the engine refuses gets an ``error`` message for its id.
Data frames go straight to the server's own send (:data:`~bff.server.requestid.RAW_SEND`):
the middlewares' send wrappers only look at other messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from bff.errors import BadRequest, Unauthenticated
from bff.graphql.engine.engine import Answer, Engine
from bff.graphql.engine.execution import dumps
from bff.graphql.engine.feeds import Sink
from bff.graphql.engine.request import Prepared
from bff.graphql.schema.context import Context
from bff.graphql.transport import protocol as p
from bff.graphql.transport.protocol import SocketSettings
from bff.graphql.transport.reading import parse_json, read_request
from bff.server.origins import origin_allowed
from bff.server.requestid import RAW_SEND
from bff.server.sockets import OpenSockets
from bff.tasks import cancel

log = logging.getLogger(__name__)

def _code(error: dict[str, Any]) -> object:
    return (error.get("extensions") or {}).get("code")


class _Operation:
    __slots__ = ("prepared", "sink", "task")

    def __init__(self) -> None:
        self.prepared: Prepared | None = None
        self.sink: Sink | None = None
        self.task: asyncio.Task[None] | None = None


class GraphQLSocket:
    """One graphql-transport-ws connection (see the module docstring)."""

    __slots__ = ("_acked", "_closed", "_closer", "_init_timer", "_initialised", "_raw", "context",
                 "engine", "operations", "settings", "sockets", "ws")  # fmt: skip

    def __init__(
        self,
        ws: WebSocket,
        engine: Engine,
        context: Context,
        sockets: OpenSockets,
        settings: SocketSettings,
    ) -> None:
        self.ws = ws
        self.engine = engine
        self.context = context
        self.sockets = sockets
        self.settings = settings
        self.operations: dict[str, _Operation] = {}
        self._raw: Callable[[dict[str, Any]], Coroutine[Any, Any, None]] | None = ws.scope.get(
            RAW_SEND
        )
        self._initialised = self._acked = self._closed = False
        self._init_timer: asyncio.TimerHandle | None = None
        self._closer: asyncio.Future[None] | None = None

    # -- the socket's life ------------------------------------------------------------

    async def run(self) -> None:
        ws = self.ws
        if not origin_allowed(ws.headers, self.settings.allowed_origins):
            log.warning("websocket from a foreign origin refused")
            await ws.close()  # before accept: the server answers 403
            return
        if p.PROTOCOL not in ws.scope.get("subprotocols", ()):
            await ws.accept()
            await self.close(p.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")
            return
        await ws.accept(subprotocol=p.PROTOCOL)
        loop = asyncio.get_running_loop()
        self._init_timer = loop.call_later(self.settings.init_timeout, self._init_timed_out)
        try:
            while not self._closed:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    await self.close(p.BAD_REQUEST, "WebSocket message type must be text")
                    break
                await self._handle(text)
                del message, text  # an idle socket keeps nothing of its last message
        except WebSocketDisconnect:
            pass
        finally:
            self._closed = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        self.sockets.forget(self)
        for op_id in list(self.operations):
            self._end(op_id)

    def _init_timed_out(self) -> None:
        self._init_timer = None
        if not self._initialised and not self._closed:
            closing = self.close(p.INIT_TIMEOUT, "Connection initialisation timeout")
            self._closer = asyncio.ensure_future(closing)

    @property
    def open(self) -> bool:
        return not self._closed

    async def ping(self) -> None:
        await self.send(p.PING)

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.ws.close(code=code, reason=reason)
        except Exception:  # already gone
            pass

    async def send(self, text: str) -> None:
        if self._closed:
            raise ConnectionResetError("the websocket is closed")
        try:
            if self._raw is not None:
                await self._raw({"type": "websocket.send", "text": text})
            else:
                await self.ws.send_text(text)
        except Exception:
            self._closed = True
            raise

    # -- messages ---------------------------------------------------------------------

    async def _handle(self, text: str) -> None:
        try:
            message = parse_json(text, "a message")
        except BadRequest as exc:
            await self.close(p.BAD_REQUEST, exc.message[:120])
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.close(p.BAD_REQUEST, "a message must be a JSON object with a `type`")
            return
        kind = message["type"]
        if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
            await self.close(p.BAD_REQUEST, "the message's `id` must be a string")
            return
        if kind == "connection_init":
            await self._connection_init(message.get("payload"))
        elif kind == "ping":
            await self.send(p.PONG)
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message.get("id"), message.get("payload"))
        elif kind == "complete":
            self._end(message["id"])
        else:
            await self.close(p.BAD_REQUEST, f"Unknown message type: {kind}")

    async def _connection_init(self, payload: object) -> None:
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self.close(p.BAD_REQUEST, "Invalid connection init payload")
            return
        if self._initialised:
            await self.close(p.TOO_MANY_INITS, "Too many initialisation requests")
            return
        self._initialised = True
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None
        raw = payload.get("authorization") or payload.get("Authorization")
        self.context.credentials = raw if isinstance(raw, str) else None
        try:
            await self.context.authenticate()
            self.context.driver_id()
        except Unauthenticated as exc:
            log.info("websocket rejected", extra={"reason": exc.message})
            await self.close(p.FORBIDDEN, "Forbidden")
            return
        await self.send(p.ACK)
        self._acked = True
        self.sockets.add(self, self.context.token_expires_at)

    async def _subscribe(self, op_id: object, payload: object) -> None:
        if not isinstance(op_id, str) or not op_id:
            await self.close(p.BAD_REQUEST, "subscribe needs an id")
            return
        if not self._acked:
            await self.close(p.UNAUTHORIZED, "Unauthorized")
            return
        if op_id in self.operations:
            await self.close(p.DUPLICATE_ID, f"Subscriber for {op_id} already exists")
            return
        try:
            request = read_request(payload, self.settings.max_query_bytes, "the payload")
        except BadRequest as exc:
            log.info("websocket message refused (%s): %s", exc.code, exc.message)
            await self.close(p.BAD_REQUEST, exc.message[:120])  # a reason fits 123 bytes
            return
        if len(self.operations) >= self.settings.max_operations:
            await self._error(op_id, [{"message": "Subscription limit reached",
                                       "extensions": {"code": "TOO_MANY_OPERATIONS"}}])  # fmt: skip
            return
        op = self.operations[op_id] = _Operation()
        prepared = await self.engine.prepare(request)
        if self.operations.get(op_id) is not op:
            return  # completed (or the socket closed) while it was prepared
        if isinstance(prepared, Answer):
            del self.operations[op_id]
            parse = [e for e in prepared.errors if _code(e) == "GRAPHQL_PARSE_FAILED"]
            if parse:
                await self.close(p.BAD_REQUEST, str(parse[0].get("message", "Syntax Error"))[:120])
            else:
                await self._error(op_id, prepared.errors)
            return
        op.prepared = prepared
        if prepared.kind.value == "subscription":
            self._follow(op_id, op, prepared)
        else:
            op.task = asyncio.create_task(self._run_once(op_id, prepared))

    def _follow(self, op_id: str, op: _Operation, prepared: Prepared) -> None:
        context = self.context.for_operation()
        sink = op.sink = self.engine.subscribe(prepared, context.driver_id(), context)
        prefix = '{"id":' + json.dumps(op_id) + ',"type":"next","payload":'
        delivered = self.engine.counting.delivered(prepared.name)
        send = self.send

        async def deliver(payload: str) -> None:
            await send(prefix + payload + "}")
            delivered()

        async def finish(failure: str | None) -> None:
            if self.operations.get(op_id) is not op:
                return
            try:
                if failure is not None:
                    await deliver(failure)
                await self._complete(op_id)
            except Exception:  # the socket went first: its handler cleans up
                pass
            finally:
                self._end(op_id)

        sink.attach(deliver, finish)

    async def _run_once(self, op_id: str, prepared: Prepared) -> None:
        try:
            context = self.context.for_operation()
            answer = await self.engine.execute(
                prepared, context, context.failures.errors, trusted=True
            )
            if op_id in self.operations:
                await self.send(dumps({"id": op_id, "type": "next", "payload": answer.payload}))
                await self._complete(op_id)
        except Exception as exc:
            if not self._closed:
                log.exception("websocket operation failed", exc_info=exc)
        finally:
            self.operations.pop(op_id, None)

    async def _complete(self, op_id: str) -> None:
        await self.send('{"id":' + json.dumps(op_id) + ',"type":"complete"}')

    async def _error(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        await self.send(dumps({"id": op_id, "type": "error", "payload": errors}))

    def _end(self, op_id: str) -> None:
        """Forget the operation: leave its feed, or stop its task."""
        op = self.operations.pop(op_id, None)
        if op is None:
            return
        if op.sink is not None and op.prepared is not None:
            self.engine.leave(op.sink, op.prepared)
        if op.task is not None:
            cancel(op.task)
