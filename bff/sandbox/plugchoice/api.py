"""Plugchoice v3 public charging: the documented endpoints, over a :class:`PlugchoiceWorld`.

Routes (relative to the sandbox's mount):

    POST /api/v3/public-charging/sessions                 {code, connector_id, email?} -> 201
    GET  /api/v3/public-charging/sessions/{token}          30/min per client
    POST /api/v3/public-charging/sessions/{token}/confirm  10/min
    POST /api/v3/public-charging/sessions/{token}/stop     10/min
    POST /api/v3/public-charging/sessions/{token}/cancel   10/min
    GET  /api/v3/public-charging/chargers?latitude&longitude&radius[&limit] | ?codes=a,b

Start is limited to 3 a minute per client and each charger to a number of sessions an
hour. Errors use Laravel's shape ``{"message", "errors"?}``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.sandbox.common import SandboxClock
from bff.sandbox.plugchoice.ratelimit import Decision, SlidingWindowLimiter
from bff.sandbox.plugchoice.responses import error, field_error, invalid, not_found, too_many
from bff.sandbox.plugchoice.sessions import (
    CANCELLABLE,
    CANCELLED_REASON,
    IN_USE_REASON,
    SimSession,
)
from bff.sandbox.plugchoice.wire import API_BASE, StartBody
from bff.sandbox.plugchoice.world import PlugchoiceWorld

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PUBLISHABLE_KEY = "pk_test_51PlugchoiceSandbox"
STRIPE_ACCOUNT = "acct_1PlugchoiceSandbox"
MAX_CODES = 100  # codes per GET /chargers

#: Requests per client per minute (simulated), as Plugchoice documents them.
LIMITS = {"start": 3, "show": 30, "confirm": 10, "stop": 10, "cancel": 10}
#: Successful starts a charger accepts per simulated hour.
CHARGER_STARTS_PER_HOUR = 20


class PublicChargingApi:
    """The public-charging endpoints and their rate limits (tests may change the limits)."""

    def __init__(self, world: PlugchoiceWorld, clock: SandboxClock) -> None:
        self.world = world
        self.clock = clock
        self.limits = dict(LIMITS)
        self.charger_starts_per_hour = CHARGER_STARTS_PER_HOUR
        self.limiter = SlidingWindowLimiter(clock)
        self.hourly = SlidingWindowLimiter(clock, window_sim_seconds=3600.0)

    def routes(self) -> list[Route]:
        s, on = f"{API_BASE}/sessions/{{token}}", self._on_session
        return [
            Route(f"{API_BASE}/sessions", self.start_session, methods=["POST"]),
            Route(s, on("show", _as_is, payment=True), methods=["GET"]),
            Route(f"{s}/confirm", on("confirm", self._confirm), methods=["POST"]),
            Route(f"{s}/stop", on("stop", self._stop), methods=["POST"]),
            Route(f"{s}/cancel", on("cancel", self._cancel), methods=["POST"]),
            Route(f"{API_BASE}/chargers", self.list_chargers, methods=["GET"]),
        ]

    def reset(self) -> None:
        """Forget the rate-limit history."""
        self.limiter.reset()
        self.hourly.reset()

    def limit(self, request: Request, bucket: str) -> Decision:
        peer = request.client.host if request.client else "unknown"
        return self.limiter.hit((bucket, peer), self.limits[bucket])

    async def start_session(self, request: Request) -> Response:
        decision = self.limit(request, "start")
        if not decision.allowed:
            return too_many(decision)
        try:
            body = StartBody.model_validate(await request.json())
        except ValueError as exc:  # a ValidationError, or a body that is not JSON
            return invalid(exc)
        if body.email is not None and not _EMAIL.match(body.email):
            return field_error("email", "The email must be a valid email address.")
        world = self.world
        charger = world.chargers.get(body.code.upper())
        if charger is None:
            return error(404, "Charger not found.")
        if not charger.online:
            return error(400, "The charger is offline.")
        connector = charger.connector(body.connector_id)
        if connector is None:
            return field_error("connector_id", "The selected connector id is invalid.")
        if world.connector_status(charger, connector) != "Available":
            return error(409, "The connector is not available.")
        hourly = self.hourly.hit(("charger", charger.public_code), self.charger_starts_per_hour)
        if not hourly.allowed:
            return too_many(hourly)
        session = world.new_session(charger, connector, body.email)
        payload = {
            "session_token": session.token,
            "data": world.session_json(session),
            "payment": session.payment_json(PUBLISHABLE_KEY, STRIPE_ACCOUNT),
        }
        return JSONResponse(payload, status_code=201, headers=decision.headers())

    def _on_session(
        self, bucket: str, act: Callable[[SimSession], Response | None], payment: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """A ``/sessions/{token}...`` endpoint: the rate limit, the token's live session
        (404 for unknown or expired tokens), then ``act``, which refuses with an answer
        or changes the session; the session is the answer."""

        async def endpoint(request: Request) -> Response:
            decision = self.limit(request, bucket)
            if not decision.allowed:
                return too_many(decision)
            session = self.world.find(request.path_params["token"])
            if session is None:
                return not_found()
            refused = act(session)
            if refused is not None:
                return refused
            payload: dict[str, Any] = {"data": self.world.session_json(session)}
            if payment:  # the Stripe context is shown by GET only
                payload["payment"] = session.payment_json(PUBLISHABLE_KEY, STRIPE_ACCOUNT)
            return JSONResponse(payload, headers=decision.headers())

        return endpoint

    def _confirm(self, session: SimSession) -> Response | None:
        if session.status == "created":
            held = self.world.holder(session.charger, session.connector)
            session.status, session.authorized_at = "authorized", self.clock.now()
            # Someone else's session got the connector first: the charger will refuse.
            session.blocked_reason = IN_USE_REASON if held else None
        return None

    def _stop(self, session: SimSession) -> Response | None:
        if session.status == "charging":
            if not session.charger.online:
                return error(400, "The charger is offline. Unplug the cable to end the session.")
            session.status, session.stop_requested_at = "stopping", self.clock.now()
        elif session.status not in ("stopping", "settling"):
            return error(409, "The session is not charging.")
        return None

    def _cancel(self, session: SimSession) -> Response | None:
        if session.status not in CANCELLABLE:
            return error(409, "The session can no longer be cancelled.")
        session.status, session.failure_reason = "abandoned", CANCELLED_REASON
        return None

    async def list_chargers(self, request: Request) -> Response:
        q, chargers = request.query_params, self.world.chargers
        if "codes" in q:
            codes = [c.strip().upper() for c in q["codes"].split(",") if c.strip()]
            if len(codes) > MAX_CODES:
                return field_error("codes", f"The codes may not have more than {MAX_CODES} items.")
            found = [chargers[c] for c in dict.fromkeys(codes) if c in chargers]
        else:
            try:
                lat, lon = float(q["latitude"]), float(q["longitude"])
                radius = float(q.get("radius", "1000"))
                limit = min(int(q.get("limit", "50")), 100)
            except (KeyError, ValueError):
                return field_error("latitude", "A latitude and longitude, or codes, are required.")
            near = sorted((c.distance_m(lat, lon), c.public_code) for c in chargers.values())
            found = [chargers[code] for d, code in near if d <= radius][: max(limit, 0)]
        return JSONResponse({"data": [self.world.charger_json(c) for c in found]})


def _as_is(_: SimSession) -> None:
    """A read: nothing to refuse or change."""
