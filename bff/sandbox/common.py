"""What every provider sandbox shares: config, clock, fault/stat middleware, webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


@dataclass
class SandboxConfig:
    speed: float = 1.0  # simulated seconds per real second
    webhook_base_url: str | None = None  # the BFF, e.g. http://127.0.0.1:8000
    plugsurfing_client_id: str = "bff"
    plugsurfing_client_secret: str = "sandbox-client-secret"
    plugsurfing_api_key: str | None = None
    plugsurfing_webhook_auth: str = "sandbox-webhook-auth"
    roaming_jwt_secret: str = "sandbox-roaming-jwt-secret-0123456789"
    roaming_webhook_secret: str = "whsec_c2FuZGJveC1yb2FtaW5nLXNlY3JldA=="
    chaos: float = 0.0  # probability of a dropped, duplicated or delayed webhook
    seed: int | None = None
    control: bool = True  # the /_control routes (BFF_SANDBOX_CONTROL)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


class Ticker:
    """Calls ``step`` every ``interval`` real seconds in the background, so sessions move
    on the clock even while nobody asks; a failing step is logged, never fatal."""

    def __init__(self, step: Callable[[], None], interval: float, name: str) -> None:
        self.step = step
        self.interval = interval
        self.name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.step()
            except Exception:  # a bug in one step must not stop the simulation
                log.exception("%s failed", self.name)


class SandboxClock:
    """Real UTC time, with simulated durations scaled by ``speed``."""

    def __init__(self, speed: float) -> None:
        self.speed = speed

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sim_seconds_since(self, t0: datetime) -> float:
        return (self.now() - t0).total_seconds() * self.speed

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed


#: Request ids whose calls are counted one by one (the oldest are forgotten).
REQUEST_IDS_KEPT = 10_000


@dataclass
class Faults:
    down: bool = False
    latency_ms: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    #: The same counts per ``X-Request-ID`` the BFF forwarded (the newest ids only), so a
    #: test counts the calls its own request caused, whatever else runs.
    by_request: OrderedDict[str, Counter[str]] = field(default_factory=OrderedDict)

    def count(self, route: str, request_id: str | None) -> None:
        self.stats[route] += 1
        self.stats["total"] += 1
        if request_id is None:
            return
        self.stats["x-request-id"] += 1  # the BFF forwards its request ids
        mine = self.by_request.get(request_id)
        if mine is None:
            mine = self.by_request[request_id] = Counter()
            if len(self.by_request) > REQUEST_IDS_KEPT:
                self.by_request.popitem(last=False)
        mine[route] += 1
        mine["total"] += 1


class FaultMiddleware:
    """Counts requests per ``METHOD path-template`` (and those carrying an
    ``X-Request-ID`` as ``x-request-id``) and injects outages and latency.

    ``/_control`` requests are neither counted nor faulted.
    """

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/_control" in scope["path"]:
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope.get("headers") or ()
                    if k.lower() == b"x-request-id"), None)
        self.faults.count(_route_name(scope), rid)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        if self.faults.down:
            await JSONResponse({"error": "sandbox is down"}, status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _route_name(scope: Scope) -> str:
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", [])
    for r in routes:
        if isinstance(r, Route):
            match, _ = r.matches(scope)
            if match.name == "FULL":
                return f"{scope['method']} {r.path}"
    return f"{scope['method']} {scope['path']}"


def control_routes(faults: Faults, reset: Callable[[], None]) -> list[Route]:
    """``GET /_control/stats``, ``GET /_control/stats/requests/{request_id}`` (the calls
    that carried that ``X-Request-ID``), ``POST /_control/stats/reset``,
    ``POST /_control/faults``, ``POST /_control/reset`` (all sessions and counters)."""

    async def stats(_: Request) -> Response:
        return JSONResponse(dict(faults.stats))

    async def request_stats(request: Request) -> Response:
        return JSONResponse(dict(faults.by_request.get(request.path_params["rid"], {})))

    async def reset_stats(_: Request) -> Response:
        faults.stats.clear()
        faults.by_request.clear()
        return JSONResponse({"ok": True})

    async def set_faults(request: Request) -> Response:
        body = await request.json()
        faults.down = bool(body.get("down", False))
        faults.latency_ms = int(body.get("latency_ms", 0))
        return JSONResponse({"down": faults.down, "latency_ms": faults.latency_ms})

    async def reset_all(_: Request) -> Response:
        reset()
        faults.stats.clear()
        faults.by_request.clear()
        faults.down, faults.latency_ms = False, 0
        return JSONResponse({"ok": True})

    return [
        Route("/_control/stats", stats, methods=["GET"]),
        Route("/_control/stats/requests/{rid}", request_stats, methods=["GET"]),
        Route("/_control/stats/reset", reset_stats, methods=["POST"]),
        Route("/_control/faults", set_faults, methods=["POST"]),
        Route("/_control/reset", reset_all, methods=["POST"]),
    ]


class WebhookSender:
    """Posts webhooks to the BFF in the background, with optional chaos.

    With ``chaos`` p, each delivery is dropped with p/3, duplicated with p/3 and delayed
    (so it overtakes or is overtaken) with p/3. Providers send once without retries.
    """

    def __init__(self, client: httpx.AsyncClient, chaos: float, seed: int | None) -> None:
        self.client = client
        self.chaos = chaos
        self.rng = random.Random(seed)
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.dropped = 0

    def send(
        self,
        url: str | None,
        body: Mapping[str, object] | bytes,
        headers: Callable[[bytes], Mapping[str, str]] | Mapping[str, str],
    ) -> None:
        if url is None:
            return
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = headers(raw) if callable(headers) else headers
        roll = self.rng.random()
        copies, delay = 1, 0.0
        if roll < self.chaos / 3:
            self.dropped += 1
            return
        if roll < 2 * self.chaos / 3:
            copies = 2
        elif roll < self.chaos:
            delay = self.rng.uniform(0.05, 0.5)
        for _ in range(copies):
            self._spawn(self._post(url, raw, dict(hdrs), delay))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, url: str, raw: bytes, headers: dict[str, str], delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.client.post(
                url, content=raw, headers={"content-type": "application/json", **headers}
            )
            self.sent += 1
        except httpx.HTTPError as exc:
            log.info("sandbox webhook not delivered: %s", type(exc).__name__)

    async def aclose(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
