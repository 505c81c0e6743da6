"""The gate in front of ``/graphql``: size caps and well-formed requests, checked before
the GraphQL view reads anything, so that no request costs more than the caps allow and
none makes the view fail (a 500 with a traceback) on what a client sent.

- ``POST``: a body over ``BFF_MAX_BODY_BYTES`` is refused (413) from its
  ``Content-Length`` before any of it is read, or, sent chunked, as soon as the bytes
  counted pass the cap. A JSON body must be UTF-8 and one GraphQL request (see
  :func:`check_request`). The view gets the body as it came through a replayed
  ``receive``: it is read and held once.
- ``GET``: the same checks on the query string's parameters (a query string over the body
  cap is refused with 414).
- websocket: every graphql-transport-ws message from the client must be a JSON object
  with a ``type``; a ``subscribe`` carries one GraphQL request (the same checks). Anything
  else closes the socket with 4400, as the protocol says for an invalid message (text
  that is not JSON at all is left to the handler, which does the same). uvicorn
  refuses messages over ``ws_max_size`` (``bff serve`` sets it to the body cap) with 1009.

Refusals answer GraphQL over HTTP's ``{"errors": [{"message", "extensions": {"code"}}]}``
with ``BAD_REQUEST`` (400), ``PAYLOAD_TOO_LARGE`` (413, 414) or ``QUERY_TOO_LARGE``
(413), and are logged at INFO: they are the client's mistakes. Starlette's own
``RequestBodyLimitMiddleware`` caps bodies too, but answers in plain text and checks
nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.observability.metrics import Metrics

log = logging.getLogger(__name__)

#: How deep a request's JSON may nest. Our deepest input is 4 levels (a charging
#: profile's periods); graphql-core and json recurse, so thousands of levels would reach
#: Python's recursion limit.
MAX_JSON_DEPTH = 32
_OBJECT_FIELDS = ("variables", "extensions")
_BAD = "BAD_REQUEST"


class Refused(Exception):
    """A request we do not pass on: the status, ``extensions.code`` and reason to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        error = {"message": self.message, "extensions": {"code": self.code}}
        return json.dumps({"errors": [error]}).encode()


def parse_json(text: str | bytes, what: str) -> Any:
    """``text`` parsed, or :class:`Refused` (400) saying why not."""
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep(what) from None
    except UnicodeDecodeError:
        raise Refused(400, _BAD, f"{what} is not UTF-8") from None
    except ValueError:
        raise Refused(400, _BAD, f"{what} is not valid JSON") from None


def check_request(data: object, max_query_bytes: int, what: str = "the body") -> None:
    """:class:`Refused` unless ``data`` is one GraphQL request: an object whose ``query``
    and ``operationName`` are strings, ``variables`` and ``extensions`` objects (each may
    be null or absent), nested at most :data:`MAX_JSON_DEPTH` deep, with a query of at
    most ``max_query_bytes`` bytes of UTF-8."""
    if not isinstance(data, dict):
        raise Refused(400, _BAD, f"{what} must be a JSON object (one GraphQL request)")
    for key in ("query", "operationName"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise Refused(400, _BAD, f"`{key}` must be a string")
    for key in _OBJECT_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise Refused(400, _BAD, f"`{key}` must be an object")
    query = data.get("query")
    if query is not None and _utf8_length(query) > max_query_bytes:
        raise Refused(413, "QUERY_TOO_LARGE", f"the query is over {max_query_bytes} bytes")
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise _too_deep(what)


def _too_deep(what: str) -> Refused:
    return Refused(400, _BAD, f"{what} nests deeper than {MAX_JSON_DEPTH} levels")


def _utf8_length(text: str) -> int:
    # Each character is 1 to 4 bytes: encode only when the answer is not plain.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _deeper_than(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """Whether JSON ``value`` nests more than ``limit`` containers deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class GraphQLRequestGuard:
    """Pure ASGI: the checks of the module docstring in front of the GraphQL view."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_query_bytes: int,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_query_bytes = max_query_bytes
        self.metrics = metrics

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            # The view's call is handed back, not awaited here: no frame of ours stays
            # suspended for as long as the socket lives (see bff.app.BFFApp).
            return self.app(scope, self._checked_messages(receive, send), send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if scope["type"] == "http" and scope["method"] == "POST":
                receive = await self._read_body(scope, receive)
            elif scope["type"] == "http" and scope.get("query_string"):
                self._check_query_string(scope["query_string"])
        except Refused as refused:
            await self._refuse(refused, send)
            return
        except _ClientGone:
            return
        await self.app(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> Receive:
        """The whole body, checked, as a ``receive`` that hands it on."""
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise Refused(400, _BAD, "Content-Length is not a number")
            if int(declared) > self.max_body_bytes:
                raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            if chunk:
                chunks.append(chunk)
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        del chunks
        media_type = headers.get(b"content-type", b"").split(b";")[0].lower()
        if b"application/json" in media_type:  # as the view decides what it parses
            check_request(parse_json(body, "the body"), self.max_query_bytes)
        return _replay(body, receive)

    def _check_query_string(self, raw: bytes) -> None:
        if len(raw) > self.max_body_bytes:
            raise Refused(414, "PAYLOAD_TOO_LARGE", f"the URL is over {self.max_body_bytes} bytes")
        params = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
        data: dict[str, Any] = {k: params.get(k) for k in ("query", "operationName")}
        for key in _OBJECT_FIELDS:
            if params.get(key) is not None:
                data[key] = parse_json(params[key], f"`{key}`")
        check_request(data, self.max_query_bytes, "the request")

    def _checked_messages(self, receive: Receive, send: Send) -> Receive:
        max_query = self.max_query_bytes

        async def checked() -> Message:
            message = await receive()
            text = message.get("text") if message["type"] == "websocket.receive" else None
            if text is None:
                return message
            try:
                try:
                    parsed = json.loads(text)
                except ValueError:
                    return message  # not JSON: the handler closes it (4400) with its reason
                except RecursionError:
                    raise _too_deep("a message") from None
                _check_ws_message(parsed, max_query)
            except Refused as refused:
                self._note(refused)
                # uvicorn then answers the next receive with the disconnect.
                reason = refused.message[:120]  # a close reason has room for 123 bytes
                await send({"type": "websocket.close", "code": 4400, "reason": reason})
                return await receive()
            return message

        return checked

    def _too_large(self) -> Refused:
        return Refused(413, "PAYLOAD_TOO_LARGE", f"the body is over {self.max_body_bytes} bytes")

    def _note(self, refused: Refused) -> None:
        log.info("graphql request refused (%s): %s", refused.code, refused.message)
        if self.metrics is not None:
            self.metrics.error(refused.code)

    async def _refuse(self, refused: Refused, send: Send) -> None:
        self._note(refused)
        body = refused.body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if refused.status in (413, 414):
            # The rest of the body is not read: the connection cannot carry another request.
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _ClientGone(Exception):
    """The client disconnected before its body was read: there is nobody to answer."""


def _check_ws_message(message: object, max_query_bytes: int) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Refused(400, _BAD, "a message must be a JSON object with a `type`")
    if message["type"] in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        raise Refused(400, _BAD, "the message's `id` must be a string")
    if message["type"] == "subscribe":
        check_request(message.get("payload"), max_query_bytes, "the payload")
    elif _deeper_than(message, MAX_JSON_DEPTH):
        raise _too_deep("a message")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands ``body`` on once, then waits on the client's (for its
    disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
