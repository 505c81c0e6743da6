"""Plugchoice-only ``/_control`` routes, for tests and demos (never part of the real API).

POST /_control/seed    {"count", "email"?, "public_code"?, "connector_id"?}
                       -> {"tokens": [...]}  finished (captured) sessions, oldest first
POST /_control/expire  {"token"} -> {"ok": true}  the token answers 404 from now on
POST /_control/status  {"token", "status", "failure_reason"?} -> {"data": session}
                       pins any word (also unknown ones), e.g. refunded, capture_failed
POST /_control/charger {"public_code", "online"?, "connector_id"?, "status"?}
                       -> {"data": charger}  take a charger offline, fault a connector
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.sandbox.plugchoice.responses import error, field_error, not_found
from bff.sandbox.plugchoice.world import PlugchoiceWorld

MAX_SEED = 100


def sandbox_control_routes(world: PlugchoiceWorld) -> list[Route]:
    async def seed(request: Request) -> Response:
        body = await _json(request)
        try:
            count = int(body.get("count", 1))
        except (TypeError, ValueError):
            count = 0
        if not 1 <= count <= MAX_SEED:
            return field_error("count", f"The count must be between 1 and {MAX_SEED}.")
        code = str(body.get("public_code") or "UTR01").upper()
        charger = world.chargers.get(code)
        if charger is None:
            return field_error("public_code", "The selected public code is invalid.")
        connector = charger.connector(_int(body.get("connector_id"))) or charger.connectors[0]
        now = world.clock.now()
        tokens = []
        for i in range(count):
            s = world.new_session(charger, connector, body.get("email"))
            minutes = world.rng.randint(20, 90)
            s.created_at = now - timedelta(days=count - i, minutes=minutes)
            s.authorized_at = s.created_at + timedelta(seconds=30)
            s.starting_at = s.authorized_at + timedelta(seconds=1)
            s.charging_started_at = s.starting_at + timedelta(seconds=2)
            s.stop_requested_at = s.charging_started_at + timedelta(minutes=minutes)
            s.completed_at = s.stop_requested_at + timedelta(seconds=3)
            kwh = Decimal(str(connector.delivered_kw)) * minutes / 60
            s.fixed_energy_kwh = kwh.quantize(Decimal("0.001"), ROUND_DOWN)
            s.settle(s.completed_at + timedelta(seconds=5))
            s.pinned = True
            tokens.append(s.token)
        return JSONResponse({"tokens": tokens})

    async def expire(request: Request) -> Response:
        session = world.find(str((await _json(request)).get("token", "")))
        if session is None:
            return not_found()
        session.status, session.pinned = "expired", True
        return JSONResponse({"ok": True})

    async def set_status(request: Request) -> Response:
        body = await _json(request)
        session = world.find(str(body.get("token", "")))
        if session is None:
            return not_found()
        word = str(body.get("status") or "")
        if not word:
            return field_error("status", "The status field is required.")
        reason = body.get("failure_reason")
        session.force(word, world.clock.now(), str(reason) if reason is not None else None)
        return JSONResponse({"data": world.session_json(session)})

    async def set_charger(request: Request) -> Response:
        body = await _json(request)
        charger = world.chargers.get(str(body.get("public_code", "")).upper())
        if charger is None:
            return error(404, "Charger not found.")
        if "online" in body:
            charger.online = bool(body["online"])
        if "connector_id" in body:
            connector = charger.connector(_int(body["connector_id"]))
            if connector is None:
                return field_error("connector_id", "The selected connector id is invalid.")
            connector.status = body.get("status")
        return JSONResponse({"data": world.charger_json(charger)})

    return [
        Route("/_control/seed", seed, methods=["POST"]),
        Route("/_control/expire", expire, methods=["POST"]),
        Route("/_control/status", set_status, methods=["POST"]),
        Route("/_control/charger", set_charger, methods=["POST"]),
    ]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
