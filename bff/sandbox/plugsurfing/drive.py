"""The Drive API routes of the sandbox (``/drive/v1/...``, seed ``001_*``).

Errors answer ``{"code", "message"}``. Only remote-capable chargers start remotely; a
start on a connector blocks further starts there for 60 simulated seconds; every start
attempt that reaches the charger gets a session id, even one that will fail. An EVSE
charges one car at a time, as the real network's do: a start while a session charges
there is refused at once (409 ``CONNECTOR_OCCUPIED``), and the refused attempt is kept as
a FAILED session whose id the refusal carries (seed 001: all session attempts are
stored); the refusal is the answer, so no event follows it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.sandbox.common import distance_m
from bff.sandbox.plugsurfing.auth import DriveAuth
from bff.sandbox.plugsurfing.fixtures import (
    CONNECTORS,
    EVSES,
    LOCATIONS,
    Behaviour,
    FxEvse,
    FxLocation,
)
from bff.sandbox.plugsurfing.receipts import Receipts
from bff.sandbox.plugsurfing.render import location_json, session_json
from bff.sandbox.plugsurfing.simulation import DriveSimulation
from bff.sandbox.plugsurfing.state import (
    CONNECTOR_BLOCK_S,
    ENDED,
    SimSession,
    charge,
    iso,
)
from bff.sandbox.plugsurfing.wire import (
    MAX_EVSE_IDS,
    MAX_GEOSEARCH_METERS,
    MAX_HISTORY_LIMIT,
    error,
)


def _not_found() -> Response:
    return error(404, "SESSION_NOT_FOUND", "no such session for this user")


async def _json_body(request: Request) -> dict[str, object] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def _encode_cursor(s: SimSession) -> str:
    return base64.urlsafe_b64encode(f"{s.start_time.isoformat()}|{s.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    start, _, sid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    if not sid:
        raise ValueError("bad cursor")
    return datetime.fromisoformat(start), sid


def drive_routes(sim: DriveSimulation, auth: DriveAuth, receipts: Receipts) -> list[Route]:
    store, clock = sim.store, sim.clock

    async def geosearch(request: Request) -> Response:
        q = request.query_params
        try:
            lat, lon = float(q["latitude"]), float(q["longitude"])
            radius, limit = float(q.get("distance", "1000")), int(q.get("limit", "100"))
        except (KeyError, ValueError):
            return error(400, "INVALID_PARAMETER", "latitude and longitude must be numbers")
        body = await _json_body(request)
        filters = (body or {}).get("filters") or {}
        if body is None or not isinstance(filters, dict) or not 0 < radius <= MAX_GEOSEARCH_METERS:
            return error(400, "INVALID_PARAMETER", "bad distance or filters")
        statuses = set(filters.get("locationStatuses") or [])
        capabilities = set(filters.get("capabilities") or [])
        busy = store.busy_connectors()
        found: list[tuple[float, dict[str, object]]] = []
        for loc in LOCATIONS:
            d = distance_m(lat, lon, loc.latitude, loc.longitude)
            evses = [e for e in loc.evses if capabilities <= set(e.capabilities)]
            if d > radius or not evses:
                continue
            rendered = location_json(loc, evses, busy, d)
            if not statuses or rendered["status"] in statuses:
                found.append((d, rendered))
        found.sort(key=lambda pair: pair[0])
        return JSONResponse({"locations": [body for _, body in found[: max(1, limit)]]})

    async def evses(request: Request) -> Response:
        ids = [i for v in request.query_params.getlist("ids") for i in v.split(",") if i]
        if not ids or len(ids) > MAX_EVSE_IDS:
            return error(400, "INVALID_PARAMETER", f"give 1 to {MAX_EVSE_IDS} ids")
        wanted: dict[str, tuple[FxLocation, list[FxEvse]]] = {}
        for evse_id in dict.fromkeys(ids):
            if evse_id in EVSES:
                loc, evse = EVSES[evse_id]
                wanted.setdefault(loc.id, (loc, []))[1].append(evse)
        busy = store.busy_connectors()
        return JSONResponse(
            {"locations": [location_json(loc, es, busy) for loc, es in wanted.values()]}
        )

    async def start(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        body = await _json_body(request)
        connector_id = (body or {}).get("connectorId")
        if not isinstance(connector_id, str):
            return error(400, "INVALID_REQUEST", "connectorId is required")
        if connector_id not in CONNECTORS:
            return error(404, "CONNECTOR_NOT_FOUND", "unknown connector")
        loc, evse, conn = CONNECTORS[connector_id]
        if not evse.remote:
            return error(422, "CHARGER_NOT_REMOTE_CAPABLE", "this charger cannot start remotely")
        if evse.base_status != "AVAILABLE":
            return error(409, "CONNECTOR_UNAVAILABLE", f"the connector is {evse.base_status}")
        now = clock.now()
        until = store.blocked_until.get(conn.id)
        if until is not None and until > now:
            wait = str(math.ceil((until - now).total_seconds()))
            return error(
                409, "CONNECTOR_BLOCKED", "a session was just started on this connector",
                {"Retry-After": wait},
            )  # fmt: skip
        if store.charging_at(evse):
            refused = store.create(user_id, loc, evse, conn, now)
            store.enter(refused, "FAILED", now)  # no event: the answer below says it
            return JSONResponse(
                {
                    "sessionId": refused.id,
                    "code": "CONNECTOR_OCCUPIED",
                    "message": "another session is charging at this EVSE",
                },
                status_code=409,
            )
        s = store.create(user_id, loc, evse, conn, now)
        if user_id.startswith("3ds") and user_id not in store.verified_3ds:
            s.client_secret = f"pi_{s.id}_secret_{secrets.token_urlsafe(12)}"
            return JSONResponse(
                {
                    "sessionId": s.id,
                    "clientSecret": s.client_secret,
                    "code": "PAYMENT_AUTHENTICATION_REQUIRED",
                    "message": "the card needs 3-D Secure authentication",
                },
                status_code=402,
            )
        store.blocked_until[conn.id] = store.later(now, CONNECTOR_BLOCK_S)
        return JSONResponse({"sessionId": s.id}, status_code=201)

    async def stop(request: Request) -> Response:
        s = store.of_user(request.path_params["user_id"], request.path_params["session_id"])
        if s is None:
            return _not_found()
        now = clock.now()
        if s.status in ENDED or s.status in ("FAILED", "WAITING_TO_STOP"):
            return JSONResponse(session_json(s, now))  # harmless again (seed 001)
        if s.key_type != "virtual":
            return error(422, "SESSION_NOT_REMOTE", "only remote sessions stop remotely")
        if s.status not in ("STARTED", "STOP_FAILED"):
            return error(409, "SESSION_NOT_STARTED", "the session has not started yet")
        if s.evse.behaviour is not Behaviour.STOP_IGNORED:
            for event in store.enter(s, "WAITING_TO_STOP", now):
                sim.notify(event)
        return JSONResponse(session_json(s, now))

    async def get_session(request: Request) -> Response:
        s = store.of_user(request.path_params["user_id"], request.path_params["session_id"])
        return _not_found() if s is None else JSONResponse(session_json(s, clock.now()))

    async def history(request: Request) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit", "20"))
            key = _decode_cursor(q["cursor"]) if q.get("cursor") else None
            started_from, started_to = _parse_time(q.get("from")), _parse_time(q.get("to"))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            return error(400, "INVALID_PARAMETER", "bad limit, cursor, from or to")
        if not 1 <= limit <= MAX_HISTORY_LIMIT:
            return error(400, "INVALID_PARAMETER", f"limit must be 1 to {MAX_HISTORY_LIMIT}")
        words = {w for v in q.getlist("status") for w in v.split(",") if w}
        user_id = request.path_params["user_id"]
        items = sorted(
            (
                s
                for s in store.sessions.values()
                if s.user_id == user_id
                and (started_from is None or s.start_time >= started_from)
                and (started_to is None or s.start_time < started_to)
                and (not words or s.status in words)
                and (key is None or (s.start_time, s.id) < key)
            ),
            key=lambda s: (s.start_time, s.id),
            reverse=True,
        )
        page, more = items[:limit], len(items) > limit
        now = clock.now()
        return JSONResponse(
            {
                "sessions": [session_json(s, now) for s in page],
                "nextCursor": _encode_cursor(page[-1]) if more else None,
            }
        )

    async def receipt(request: Request) -> Response:
        s = store.sessions.get(request.path_params["session_id"])
        if s is None:
            return _not_found()
        if s.status not in ("COMPLETE", "REFUNDED"):
            return error(404, "RECEIPT_NOT_AVAILABLE", "the receipt is not ready")
        url, expires_at = receipts.url(request, s.id)
        return JSONResponse({"url": url, "expiresAt": iso(expires_at)})

    async def retry_payment(request: Request) -> Response:
        s = store.of_user(request.path_params["user_id"], request.path_params["session_id"])
        if s is None:
            return _not_found()
        if s.balance_status != "DEBT" or s.price_minor is None:
            return error(409, "PAYMENT_NOT_IN_DEBT", "there is nothing to pay")
        now = clock.now()
        s.balance_status, s.balance_minor = "PAID", 0
        s.transactions.append(charge(s.price_minor, now))
        return JSONResponse(session_json(s, now))

    users = "/drive/v1/users/{user_id}/sessions"
    routes = [
        ("POST", "/drive/v1/geosearch/radius", geosearch),
        ("GET", "/drive/v1/evses", evses),
        ("POST", f"{users}/start", start),
        ("POST", users + "/{session_id}/stop", stop),
        ("POST", users + "/{session_id}/retry-payment", retry_payment),
        ("GET", users + "/{session_id}", get_session),
        ("GET", users, history),
        ("GET", "/drive/v1/sessions/{session_id}/receipt", receipt),
    ]
    # Every call brings the simulation up to date first, as if it ran continuously.
    return [
        Route(path, auth.guarded(fn, sim.advance), methods=[method]) for method, path, fn in routes
    ]
