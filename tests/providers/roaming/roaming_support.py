"""Shared by the roaming tests: a bounded poll, the BFF stand-in for webhooks, the rig."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.errors import WebhookRejected
from bff.providers.roaming.adapter import RoamingAdapter
from bff.providers.roaming.webhooks import RoamingWebhook, parse_roaming_webhook
from bff.sandbox.roaming import RoamingSandbox
from bff.settings import Settings

T = TypeVar("T")
SPEED = 100.0
SANDBOX_URL = "http://sandbox.test/roaming"


async def eventually(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], within: float = 5.0
) -> T:
    """Poll ``probe`` until ``until`` holds, failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
        await asyncio.sleep(0.005)


@dataclass
class WebhookInbox:
    """What the BFF stand-in received: verified webhooks and rejections."""

    secret: str
    received: list[RoamingWebhook] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            try:
                hook = parse_roaming_webhook(
                    request.headers, await request.body(), self.secret, 300, datetime.now(UTC)
                )
            except WebhookRejected as exc:
                self.rejected.append(exc.status_code)
                return JSONResponse({"error": exc.message}, status_code=exc.status_code)
            self.received.append(hook)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/webhooks/roaming", receive, methods=["POST"])])

    def words(self, session_id: str) -> list[str]:
        return [h.status_word for h in self.received if h.session.id == session_id]


@dataclass
class Rig:
    sandbox: RoamingSandbox
    adapter: RoamingAdapter
    control: httpx.AsyncClient  # the sandbox's own routes, including /_control
    inbox: WebhookInbox
    settings: Settings
