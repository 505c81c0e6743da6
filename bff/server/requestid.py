"""Request ids: one per HTTP request or websocket connection, on every log line written
while it is handled, on the response, and on the calls we make to providers.

An incoming ``X-Request-ID`` is kept when it is printable ASCII of at most 128 characters
(so a client or load balancer can follow one request through every hop); anything else is
replaced by a fresh uuid4, never echoed back or logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 128

_request_id: ContextVar[str | None] = ContextVar("bff_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this task, if any."""
    return _request_id.get()


@contextmanager
def bind_request_id(rid: str | None = None) -> Iterator[str]:
    """Make ``rid`` (or a new id) the current request id inside the block; for the
    middleware, and for background work that wants its log lines and calls tied."""
    rid = rid or new_request_id()
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


#: Scope key of the server's ``send`` for a websocket, below every middleware. Data frames
#: to thousands of subscribers go straight to it: the middlewares' send wrappers (this
#: one's, Starlette's exception handlers') only look at other messages, and cost a
#: quarter of a delivery's CPU when every frame passes through them.
RAW_SEND = "bff.raw_send"


def acceptable_request_id(value: str) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID_LENGTH and all(" " <= c <= "~" for c in value)


def new_request_id() -> str:
    """A random (version 4) UUID's text, made without a ``uuid.UUID`` object (every
    request mints one)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RequestIdMiddleware:
    """Pure ASGI middleware: honour or mint the request id, expose it in a contextvar and
    answer it in the ``X-Request-ID`` response header (also on a websocket accept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        rid = incoming if incoming is not None and acceptable_request_id(incoming) else None
        rid = rid or new_request_id()
        raw = (REQUEST_ID_HEADER.encode(), rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                headers = list(message.get("headers") or [])
                if not any(k.lower() == raw[0] for k, _ in headers):
                    headers.append(raw)
                message = {**message, "headers": headers}
            await send(message)

        if scope["type"] == "websocket":
            # The server's own send, for a socket's data frames (see RAW_SEND).
            scope[RAW_SEND] = send
        with bind_request_id(rid):
            await self.app(scope, receive, send_with_id)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is handled (install it
    on the handler: logger filters do not see records propagated from child loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = _request_id.get()
        if rid is not None and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            try:
                return bytes(value).decode("ascii").strip()
            except UnicodeDecodeError:
                return None
    return None
