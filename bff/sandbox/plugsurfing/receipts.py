"""Receipts: a signed URL to a PDF the sandbox serves itself, refused once expired."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from bff.sandbox.plugsurfing.render import receipt_pdf
from bff.sandbox.plugsurfing.simulation import DriveSimulation
from bff.sandbox.plugsurfing.wire import error

RECEIPT_TTL_SIM_SECONDS = 900.0


class Receipts:
    """Signs receipt URLs and serves ``GET /receipts/{sessionId}.pdf``."""

    def __init__(self, sim: DriveSimulation) -> None:
        self.sim = sim
        self.ttl_sim_seconds = RECEIPT_TTL_SIM_SECONDS
        self._signing_key = secrets.token_bytes(32)

    def _sign(self, session_id: str, expires_ms: int) -> str:
        message = f"{session_id}.{expires_ms}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def url(self, request: Request, session_id: str) -> tuple[str, datetime]:
        """The signed URL of a session's receipt, and when it expires."""
        clock = self.sim.clock
        ttl = clock.real_seconds(self.ttl_sim_seconds)
        expires_ms = math.ceil((clock.now().timestamp() + ttl) * 1000)
        base = f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"
        query = f"expires={expires_ms}&signature={self._sign(session_id, expires_ms)}"
        url = f"{base}/receipts/{quote(session_id, safe='')}.pdf?{query}"
        return url, datetime.fromtimestamp(expires_ms / 1000, UTC)

    async def file(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        expires, signature = (request.query_params.get(k, "") for k in ("expires", "signature"))
        if not expires.isdigit() or not hmac.compare_digest(
            signature.encode(), self._sign(session_id, int(expires)).encode()
        ):
            return error(403, "INVALID_SIGNATURE", "the receipt URL is not valid")
        if int(expires) < self.sim.clock.now().timestamp() * 1000:
            return error(403, "URL_EXPIRED", "the receipt URL has expired")
        self.sim.advance()
        s = self.sim.store.sessions.get(session_id)
        if s is None or s.price_minor is None:
            return error(404, "RECEIPT_NOT_AVAILABLE", "no receipt for this session")
        return Response(receipt_pdf(s), media_type="application/pdf")
