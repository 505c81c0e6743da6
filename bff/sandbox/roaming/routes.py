"""Request handlers of the roaming sandbox: auth, validation and the documented answers."""

from __future__ import annotations

from typing import TypeVar

import jwt
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.sandbox.roaming.data import EVSES, EVSES_BY_ID, UNSTARTABLE
from bff.sandbox.roaming.sim import SimProfile, SimSession, Simulator, iso
from bff.sandbox.roaming.wire import (
    ACTIVE,
    COMPLETED,
    NETWORK,
    PENDING,
    ProfileBody,
    StartBody,
    StopBody,
)

M = TypeVar("M", bound=BaseModel)

MAX_RADIUS_M = 50_000
MAX_IDS = 100


class ApiError(Exception):
    """An error answer: ``{"error": code, "message": message}`` with ``status_code``."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message


class _SeedBody(BaseModel):
    user: str = Field(min_length=1)
    count: int = Field(default=3, ge=1, le=100)
    #: Sessions charging from now on (several on one EVSE), instead of completed ones.
    live: bool = False


class Routes:
    """The platform's endpoints over one :class:`Simulator`."""

    def __init__(self, sim: Simulator, jwt_secret: str) -> None:
        self.sim = sim
        self.jwt_secret = jwt_secret

    def api_routes(self) -> list[Route]:
        s = "/v1/sessions/{session_id}"
        return [
            Route("/v1/sessions/start", self.start, methods=["POST"]),
            Route("/v1/sessions/stop", self.stop, methods=["POST"]),
            Route(f"{s}/status", self.status, methods=["GET"]),
            Route(f"{s}/charging-profile", self.set_profile, methods=["POST"]),
            Route(f"{s}/charging-profile", self.clear_profile, methods=["DELETE"]),
            Route(f"{s}/receipt", self.receipt, methods=["GET"]),
            Route("/v1/evses", self.evses, methods=["GET"]),
        ]

    async def start(self, request: Request) -> Response:
        user = self._user(request)
        body = await _body(request, StartBody)
        evse = EVSES_BY_ID.get(body.evse_id)
        if evse is None:
            raise ApiError(404, "evse_not_found", "unknown EVSE")
        connector = evse.connector_for(body.connector_type)
        if connector is None:
            raise ApiError(422, "unknown_connector_type", "the EVSE has no such connector type")
        if evse.status in UNSTARTABLE:
            raise ApiError(409, "evse_out_of_order", f"the EVSE is {evse.status}")
        self.sim.advance()
        if self.sim.live_on(evse.evse_id) is not None:
            raise ApiError(409, "evse_occupied", "the EVSE has a session in progress")
        s = self.sim.start(
            user, evse, connector.standard, connector.power_w / 1000, body.battery_target_kwh
        )
        return JSONResponse(
            {"session_id": s.id, "status": s.status, "evse_id": evse.evse_id, "network": NETWORK}
        )

    async def stop(self, request: Request) -> Response:
        user = self._user(request)
        body = await _body(request, StopBody)
        s = self._session(user, body.session_id)
        if s.final:
            raise ApiError(409, "session_not_active", f"the session is {s.status}")
        self.sim.stop(s)
        return JSONResponse({"session_id": s.id, "status": s.status})

    async def status(self, request: Request) -> Response:
        s = self._session(self._user(request), request.path_params["session_id"])
        return JSONResponse(s.status_object(self.sim.clock, self.sim.clock.now()))

    async def set_profile(self, request: Request) -> Response:
        s = self._smart_live_session(request)
        body = await _body(request, ProfileBody)
        periods = [(p.start_period, p.limit) for p in body.periods or []]
        if body.max_charge_rate_kw is None and not periods:
            raise ApiError(422, "invalid_profile", "give max_charge_rate_kw or periods")
        starts = [p[0] for p in periods]
        if periods and (starts[0] != 0 or starts != sorted(set(starts))):
            raise ApiError(422, "invalid_profile", "periods must start at 0 and ascend")
        if not periods and body.max_charge_rate_kw is not None:
            # The platform expresses a plain cap as a one-period schedule in watts.
            periods = [(0, round(body.max_charge_rate_kw * 1000))]
        profile = SimProfile(
            body.max_charge_rate_kw, body.departure_time, periods, self.sim.clock.now()
        )
        self.sim.set_profile(s, profile)
        return JSONResponse({"session_id": s.id, "profile_set": True, **profile.to_json()})

    async def clear_profile(self, request: Request) -> Response:
        s = self._smart_live_session(request)
        self.sim.set_profile(s, None)
        return JSONResponse({"session_id": s.id, "profile_cleared": True})

    async def receipt(self, request: Request) -> Response:
        s = self._session(self._user(request), request.path_params["session_id"])
        if s.status != COMPLETED:
            raise ApiError(409, "receipt_not_available", "no CDR for this session yet")
        return JSONResponse(
            {
                "session_id": s.id,
                "network": NETWORK,
                "evse_id": s.evse.evse_id,
                "energy_kwh": float(s.energy_kwh()),
                "duration_minutes": int(s.duration_s(self.sim.clock, self.sim.clock.now()) // 60),
                "cost": float(s.cost()),
                "currency": s.evse.currency,
                "payment_status": "paid",
            }
        )

    async def evses(self, request: Request) -> Response:
        self._user(request)
        self.sim.advance()
        q = request.query_params
        if "ids" in q:
            ids = [i for i in q["ids"].split(",") if i]
            if len(ids) > MAX_IDS:
                raise ApiError(400, "invalid_request", f"at most {MAX_IDS} ids")
            found = [EVSES_BY_ID[i] for i in dict.fromkeys(ids) if i in EVSES_BY_ID]
        else:
            try:
                lat, lon = float(q["latitude"]), float(q["longitude"])
                radius = min(float(q.get("radius", "1000")), MAX_RADIUS_M)
                limit = int(q.get("limit", "50"))
            except (KeyError, ValueError):
                raise ApiError(400, "invalid_request", "latitude and longitude required") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180 and radius >= 0 and limit > 0):
                raise ApiError(400, "invalid_request", "coordinates out of range")
            near = sorted((e.distance_m(lat, lon), e.evse_id) for e in EVSES)
            found = [EVSES_BY_ID[i] for d, i in near if d <= radius][:limit]
        return JSONResponse({"evses": [e.to_json(self.sim.evse_status(e)) for e in found]})

    async def control_seed(self, request: Request) -> Response:
        body = await _body(request, _SeedBody)
        seed = self.sim.seed_live if body.live else self.sim.seed_completed
        made = seed(body.user, body.count)
        return JSONResponse(
            {
                "session_ids": [s.id for s in made],
                "sessions": [
                    {
                        "session_id": s.id,
                        "evse_id": s.evse.evse_id,
                        "connector_type": s.connector_type,
                        "start_time": iso(s.start_time) if s.start_time else None,
                    }
                    for s in made
                ],
            }
        )

    async def control_session(self, request: Request) -> Response:
        self.sim.advance()
        s = self.sim.sessions.get(request.path_params["session_id"])
        if s is None:
            raise ApiError(404, "session_not_found", "unknown session")
        return JSONResponse(_raw(self.sim, s))

    def _user(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "a user JWT is required")
        try:
            claims = jwt.decode(
                token.strip(),
                self.jwt_secret,
                algorithms=["HS256"],
                options={"require": ["exp", "sub"]},
                leeway=5,  # the BFF may run on another host
            )
        except jwt.PyJWTError:
            raise ApiError(401, "unauthorized", "invalid or expired token") from None
        return str(claims["sub"])

    def _session(self, user: str, session_id: str) -> SimSession:
        self.sim.advance()
        s = self.sim.sessions.get(session_id)
        # Another user's session is as unknown as a missing one.
        if s is None or s.user != user:
            raise ApiError(404, "session_not_found", "unknown session")
        return s

    def _smart_live_session(self, request: Request) -> SimSession:
        s = self._session(self._user(request), request.path_params["session_id"])
        if not s.evse.smart:
            raise ApiError(409, "smart_charging_not_supported", "the EVSE has no smart charging")
        if s.status not in (PENDING, ACTIVE):
            raise ApiError(409, "session_not_active", f"the session is {s.status}")
        return s


def _raw(sim: Simulator, s: SimSession) -> dict[str, object]:
    """Everything about a session, for tests (``GET /_control/sessions/{id}``)."""
    now = sim.clock.now()
    return {
        **s.status_object(sim.clock, now),
        "at": iso(now),
        "user": s.user,
        "evse_id": s.evse.evse_id,
        "connector_type": s.connector_type,
        "battery_target_kwh": s.target_wh / 1000 if s.target_wh is not None else None,
        "energy_wh": s.energy_wh,
        "power_kw": s.power_kw(sim.clock, now) if s.status == ACTIVE else 0.0,
        "created_at": iso(s.created_at),
        "ended_at": iso(s.ended_at) if s.ended_at else None,
        "profile": s.profile.to_json() if s.profile else None,
        "history": [{"status": w, "at": iso(t)} for w, t in s.history],
    }


async def _body(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError:
        raise ApiError(400, "invalid_request", "malformed request body") from None
