"""Plugsurfing-specific ``/_control`` routes, for tests and demos (never on the real API).

- ``POST /_control/seed {"userId", "count", "evseId"?}``: ``count`` COMPLETE sessions
  with distinct start times in the past; answers ``{"sessionIds": [...]}`` newest first.
- ``POST /_control/3ds/complete {"clientSecret"}``: the app finished the challenge; that
  attempt ends FAILED and the user's later starts succeed.
- ``POST /_control/tokens/expire``: every access token becomes invalid (401 next time).
- ``POST /_control/sessions/{sessionId}/refund``: COMPLETE -> REFUNDED.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.sandbox.plugsurfing.auth import DriveAuth
from bff.sandbox.plugsurfing.fixtures import EVSES, LOCATIONS, Behaviour
from bff.sandbox.plugsurfing.simulation import DriveSimulation
from bff.sandbox.plugsurfing.state import charge
from bff.sandbox.plugsurfing.wire import error

MAX_SEED = 1000
#: Seeded sessions draw no more than a typical car takes.
_CAR_MAX_KW = 50.0


def plugsurfing_control_routes(sim: DriveSimulation, auth: DriveAuth) -> list[Route]:
    store = sim.store

    async def seed(request: Request) -> Response:
        body = await request.json()
        user_id, count, evse_id = body.get("userId"), body.get("count"), body.get("evseId")
        if not isinstance(user_id, str) or not isinstance(count, int):
            return error(400, "INVALID_REQUEST", "userId and count are required")
        if not 1 <= count <= MAX_SEED or (evse_id is not None and evse_id not in EVSES):
            return error(400, "INVALID_REQUEST", "bad count or unknown evseId")
        choices = (
            [EVSES[evse_id]]
            if evse_id is not None
            else [
                (loc, e)
                for loc in LOCATIONS
                for e in loc.evses
                if e.remote and e.behaviour is Behaviour.NORMAL and e.base_status == "AVAILABLE"
            ]
        )
        now = sim.clock.now()
        ids = []
        for i in range(count):
            loc, evse = choices[i % len(choices)]
            conn = evse.connectors[0]
            if body.get("live") is True:  # charging from now on, sending no webhook
                s = store.create(user_id, loc, evse, conn, now)
                store.enter(s, "STARTED", now)
                ids.append(s.id)
                continue
            # At least ten minutes apart: i hours back, minus up to 50 minutes.
            start = now - timedelta(hours=i + 1, minutes=sim.rng.randint(0, 50))
            duration = timedelta(minutes=sim.rng.randint(15, 55))
            s = store.create(user_id, loc, evse, conn, start)
            s.started, s.key_type = True, "card" if i % 4 == 3 else "virtual"
            power = min(conn.max_power_kw, _CAR_MAX_KW)
            s.energy_wh = power * 1000 * duration.total_seconds() / 3600
            s.end_time = s.energy_at = start + duration
            store.enter(s, "COMPLETE", start + duration + timedelta(seconds=10))
            ids.append(s.id)
        return JSONResponse({"sessionIds": ids})

    async def complete_3ds(request: Request) -> Response:
        secret = (await request.json()).get("clientSecret")
        if not isinstance(secret, str):
            return error(400, "INVALID_REQUEST", "clientSecret is required")
        for s in store.sessions.values():
            if s.client_secret and hmac.compare_digest(s.client_secret, secret):
                store.verified_3ds.add(s.user_id)
                if s.status == "CREATED":
                    for event in store.enter(s, "FAILED", sim.clock.now()):
                        sim.notify(event)
                return JSONResponse({"ok": True, "userId": s.user_id})
        return error(404, "NOT_FOUND", "no payment challenge with this secret")

    async def expire_tokens(_: Request) -> Response:
        return JSONResponse({"expired": auth.expire_all()})

    async def refund(request: Request) -> Response:
        sim.advance()
        s = store.sessions.get(request.path_params["session_id"])
        if s is None or s.status != "COMPLETE" or s.price_minor is None:
            return error(409, "NOT_REFUNDABLE", "only COMPLETE sessions can be refunded")
        now = sim.clock.now()
        s.balance_status, s.balance_minor = "REFUND", 0
        s.transactions.append(charge(s.price_minor, now, outcome="REFUND"))
        for event in store.enter(s, "REFUNDED", now):
            sim.notify(event)
        return JSONResponse({"ok": True})

    return [
        Route("/_control/seed", seed, methods=["POST"]),
        Route("/_control/3ds/complete", complete_3ds, methods=["POST"]),
        Route("/_control/tokens/expire", expire_tokens, methods=["POST"]),
        Route("/_control/sessions/{session_id}/refund", refund, methods=["POST"]),
    ]
