"""``POST /webhooks/<name>`` for each provider that sends webhooks (its registry entry).

2xx ``{"ok": true}`` only after the hub has recorded the effect in Redis; a rejected
webhook answers its 4xx (401 credentials, 400 malformed, 413 too large, 415 not JSON) with
``{"error": reason}`` and changes nothing; Redis trouble answers 503 so a sender that
retries will. Never a 500, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.domain.model import Provider
from bff.errors import WebhookRejected
from bff.providers import registry

if TYPE_CHECKING:
    from bff.live.hub import LiveHub

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, str], bytes], Awaitable[None]]


def webhook_routes(get_hub: Callable[[Request], LiveHub]) -> list[Route]:
    """The webhook routes; ``get_hub`` finds the app's hub for a request."""

    def endpoint(provider: Provider) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            hub = get_hub(request)

            async def handle(headers: Mapping[str, str], body: bytes) -> None:
                await hub.handle_webhook(provider, headers, body)

            return await _receive(request, handle, _limit(hub))

        return receive

    return [
        Route(f"/webhooks/{e.name}", endpoint(e.provider), methods=["POST"])
        for e in registry.with_webhooks()
    ]


def _limit(hub: LiveHub) -> int:
    return hub.settings.webhook_max_bytes


async def _receive(request: Request, handler: Handler, max_bytes: int) -> Response:
    name = request.url.path
    try:
        body = await _read_capped(request, max_bytes)
        await handler(request.headers, body)
    except WebhookRejected as exc:
        log.info("%s rejected (%d): %s", name, exc.status_code, exc.message)
        return JSONResponse({"error": exc.message}, status_code=exc.status_code)
    except ClientDisconnect:
        return JSONResponse({"error": "incomplete body"}, status_code=400)
    except RedisError as exc:
        log.warning("%s: Redis unavailable: %s", name, exc)
        return _unavailable()
    except Exception:
        # Not recorded: a sender that retries should, and nobody sees our insides.
        log.exception("%s: failed", name)
        return _unavailable()
    return JSONResponse({"ok": True})


def _unavailable() -> Response:
    return JSONResponse(
        {"error": "temporarily unavailable"}, status_code=503, headers={"Retry-After": "1"}
    )


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    """The body, refusing (413) before buffering more than ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise WebhookRejected(413, "webhook body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise WebhookRejected(413, "webhook body too large")
    return bytes(body)
