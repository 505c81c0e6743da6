"""The Plugchoice sandbox: v3 public charging over HTTP, mounted at ``/plugchoice``.

Routes (relative to the mount; see :mod:`.control` for ``/_control``):

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

import random
import re
import secrets
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bff.providers.plugchoice.constants import API_BASE
from bff.providers.plugchoice.schemas import StartBody
from bff.sandbox.common import FaultMiddleware, Faults, SandboxClock, SandboxConfig, control_routes
from bff.sandbox.plugchoice.control import sandbox_control_routes
from bff.sandbox.plugchoice.fixtures import (
    SimCharger,
    SimConnector,
    charger_json,
    utrecht_chargers,
)
from bff.sandbox.plugchoice.ratelimit import Decision, SlidingWindowLimiter
from bff.sandbox.plugchoice.responses import (
    WithRouter,
    error,
    field_error,
    invalid,
    not_found,
    too_many,
)
from bff.sandbox.plugchoice.sessions import (
    CANCELLABLE,
    CANCELLED_REASON,
    GONE,
    IN_USE_REASON,
    ON_CONNECTOR,
    SimSession,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PUBLISHABLE_KEY = "pk_test_51PlugchoiceSandbox"
STRIPE_ACCOUNT = "acct_1PlugchoiceSandbox"
MAX_CODES = 100  # codes per GET /chargers


class PlugchoiceSandbox:
    """A faithful simulator of Plugchoice v3 public charging with chargers around Utrecht."""

    #: Requests per client per minute (simulated), as Plugchoice documents them.
    LIMITS = {"start": 3, "show": 30, "confirm": 10, "stop": 10, "cancel": 10}
    #: Successful starts a charger accepts per simulated hour.
    CHARGER_STARTS_PER_HOUR = 20

    def __init__(self, config: SandboxConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client  # unused: Plugchoice sends no webhooks
        self.clock = SandboxClock(config.speed)
        self.faults = Faults()
        self.limits = dict(self.LIMITS)
        self.rng = random.Random(config.seed)
        self.limiter = SlidingWindowLimiter(self.clock)
        self.hourly = SlidingWindowLimiter(self.clock, window_sim_seconds=3600.0)
        self.reset()

    def reset(self) -> None:
        """Back to the fixtures: no sessions, no rate-limit history, chargers as shipped."""
        self.chargers: dict[str, SimCharger] = {c.public_code: c for c in utrecht_chargers()}
        self.sessions: dict[str, SimSession] = {}
        self.limiter.reset()
        self.hourly.reset()

    def app(self) -> ASGIApp:
        s = f"{API_BASE}/sessions"
        routes = [
            Route(s, self.start_session, methods=["POST"]),
            Route(s + "/{token}", self.show, methods=["GET"]),
            Route(s + "/{token}/confirm", self.confirm, methods=["POST"]),
            Route(s + "/{token}/stop", self.stop, methods=["POST"]),
            Route(s + "/{token}/cancel", self.cancel, methods=["POST"]),
            Route(f"{API_BASE}/chargers", self.list_chargers, methods=["GET"]),
            *control_routes(self.faults, self.reset),
            *sandbox_control_routes(self),
        ]
        inner = Starlette(routes=routes)
        return WithRouter(FaultMiddleware(inner, self.faults), inner)

    async def start(self) -> None:
        """Nothing runs in the background: sessions advance whenever they are read."""

    async def aclose(self) -> None:
        """Nothing to release."""

    # --- state -------------------------------------------------------------------------

    def find(self, token: str) -> SimSession | None:
        """A live token's session, advanced to now; None for unknown or expired tokens."""
        session = self.sessions.get(token)
        if session is None:
            return None
        session.advance()
        return None if session.status in GONE else session

    def holder(self, charger: SimCharger, connector: SimConnector) -> SimSession | None:
        for session in self.sessions.values():
            if session.charger is charger and session.connector is connector:
                session.advance()
                if session.status in ON_CONNECTOR:
                    return session
        return None

    def connector_status(self, charger: SimCharger, connector: SimConnector) -> str | None:
        held = self.holder(charger, connector)
        word = held.connector_word() if held else None
        return word or connector.status

    def session_json(self, session: SimSession) -> dict[str, Any]:
        return session.to_json(self.connector_status(session.charger, session.connector))

    def new_session(
        self, charger: SimCharger, connector: SimConnector, email: str | None
    ) -> SimSession:
        token = secrets.token_urlsafe(32)
        intent = f"pi_{secrets.token_hex(12)}"
        session = SimSession(
            clock=self.clock,
            token=token,
            charger=charger,
            connector=connector,
            email=email,
            created_at=self.clock.now(),
            client_secret=f"{intent}_secret_{secrets.token_urlsafe(18)}",
            amount_authorized=charger.hold,
        )
        self.sessions[token] = session
        return session

    # --- API ---------------------------------------------------------------------------

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
        charger = self.chargers.get(body.code.upper())
        if charger is None:
            return error(404, "Charger not found.")
        if not charger.online:
            return error(400, "The charger is offline.")
        connector = charger.connector(body.connector_id)
        if connector is None:
            return field_error("connector_id", "The selected connector id is invalid.")
        if self.connector_status(charger, connector) != "Available":
            return error(409, "The connector is not available.")
        hourly = self.hourly.hit(("charger", charger.public_code), self.CHARGER_STARTS_PER_HOUR)
        if not hourly.allowed:
            return too_many(hourly)
        session = self.new_session(charger, connector, body.email)
        payload = {
            "session_token": session.token,
            "data": self.session_json(session),
            "payment": session.payment_json(PUBLISHABLE_KEY, STRIPE_ACCOUNT),
        }
        return JSONResponse(payload, status_code=201, headers=decision.headers())

    async def show(self, request: Request) -> Response:
        decision = self.limit(request, "show")
        if not decision.allowed:
            return too_many(decision)
        session = self.find(request.path_params["token"])
        if session is None:
            return not_found()
        payload = {
            "data": self.session_json(session),
            "payment": session.payment_json(PUBLISHABLE_KEY, STRIPE_ACCOUNT),
        }
        return JSONResponse(payload, headers=decision.headers())

    async def confirm(self, request: Request) -> Response:
        decision = self.limit(request, "confirm")
        if not decision.allowed:
            return too_many(decision)
        session = self.find(request.path_params["token"])
        if session is None:
            return not_found()
        if session.status == "created":
            held = self.holder(session.charger, session.connector)
            session.status, session.authorized_at = "authorized", self.clock.now()
            # Someone else's session got the connector first: the charger will refuse.
            session.blocked_reason = IN_USE_REASON if held else None
        return JSONResponse({"data": self.session_json(session)}, headers=decision.headers())

    async def stop(self, request: Request) -> Response:
        decision = self.limit(request, "stop")
        if not decision.allowed:
            return too_many(decision)
        session = self.find(request.path_params["token"])
        if session is None:
            return not_found()
        if session.status == "charging":
            if not session.charger.online:
                return error(400, "The charger is offline. Unplug the cable to end the session.")
            session.status, session.stop_requested_at = "stopping", self.clock.now()
        elif session.status not in ("stopping", "settling"):
            return error(409, "The session is not charging.")
        return JSONResponse({"data": self.session_json(session)}, headers=decision.headers())

    async def cancel(self, request: Request) -> Response:
        decision = self.limit(request, "cancel")
        if not decision.allowed:
            return too_many(decision)
        session = self.find(request.path_params["token"])
        if session is None:
            return not_found()
        if session.status not in CANCELLABLE:
            return error(409, "The session can no longer be cancelled.")
        session.status, session.failure_reason = "abandoned", CANCELLED_REASON
        return JSONResponse({"data": self.session_json(session)}, headers=decision.headers())

    async def list_chargers(self, request: Request) -> Response:
        q = request.query_params
        if "codes" in q:
            codes = [c.strip().upper() for c in q["codes"].split(",") if c.strip()]
            if len(codes) > MAX_CODES:
                return field_error("codes", f"The codes may not have more than {MAX_CODES} items.")
            found = [self.chargers[c] for c in dict.fromkeys(codes) if c in self.chargers]
        else:
            try:
                lat, lon = float(q["latitude"]), float(q["longitude"])
                radius = float(q.get("radius", "1000"))
                limit = min(int(q.get("limit", "50")), 100)
            except (KeyError, ValueError):
                return field_error("latitude", "A latitude and longitude, or codes, are required.")
            near = sorted((c.distance_m(lat, lon), c.public_code) for c in self.chargers.values())
            found = [self.chargers[code] for d, code in near if d <= radius][: max(limit, 0)]
        return JSONResponse({"data": [self.charger_json(c) for c in found]})

    def charger_json(self, charger: SimCharger) -> dict[str, Any]:
        live = {c.connector_id: self.connector_status(charger, c) for c in charger.connectors}
        return charger_json(charger, live)
