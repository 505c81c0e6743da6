"""Laravel-shaped responses of the Plugchoice sandbox, and its route-aware wrapper."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bff.sandbox.plugchoice.ratelimit import Decision


class WithRouter:
    """Lets :class:`FaultMiddleware` name requests by route template (no tokens in stats)."""

    def __init__(self, app: ASGIApp, router_app: Starlette) -> None:
        self.app = app
        self.router_app = router_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "app": self.router_app}
        await self.app(scope, receive, send)


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)


def field_error(name: str, message: str) -> JSONResponse:
    return error(422, message, errors={name: [message]})


def not_found() -> JSONResponse:
    return error(404, "Not found.")


def too_many(decision: Decision) -> JSONResponse:
    return JSONResponse(
        {"message": "Too Many Attempts."}, status_code=429, headers=decision.headers()
    )


def invalid(exc: ValueError) -> JSONResponse:
    errors: dict[str, list[str]] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else "body"
            errors.setdefault(name, []).append(e["msg"])
    else:
        errors["body"] = ["The body must be JSON."]
    first = next(iter(errors.values()))[0]
    return error(422, first, errors=errors)
