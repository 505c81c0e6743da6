"""A thin client of the roaming platform's session API: one method per endpoint.

Session endpoints take a user JWT: the BFF signs one per driver (HS256, ``sub`` = the
driver id, short expiry) and the platform scopes sessions to it. EVSE search and lookup
use the BFF's own subject. Reads are retried by :class:`ProviderHttp`; writes never.
A 4xx with the platform's ``{"error": code}`` body becomes a
:class:`~bff.errors.ProviderRejected` whose ``reason`` says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from pydantic import ValidationError

from bff.errors import ProviderNotFound, ProviderRejected
from bff.providers.http import ProviderHttp
from bff.providers.roaming.constants import PLATFORM_ERRORS, PROVIDER_NAME
from bff.providers.roaming.schemas import (
    ChargingProfileRequest,
    ChargingProfileResponse,
    ClearProfileResponse,
    ErrorBody,
    EvseList,
    EvseWire,
    ReceiptResponse,
    SessionStatusObject,
    StartSessionRequest,
    StartSessionResponse,
    StopSessionRequest,
    StopSessionResponse,
    WireModel,
)

SERVICE_SUBJECT = "bff"
MAX_IDS_PER_LOOKUP = 50
# Statuses whose body we read ourselves to learn the platform's reason.
_REJECTIONS = (400, 409, 422)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RoamingClient:
    """The platform's endpoints over one :class:`ProviderHttp`."""

    def __init__(
        self,
        http: ProviderHttp,
        jwt_secret: str,
        token_ttl_seconds: int = 300,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.http = http
        self._secret = jwt_secret
        self._ttl = timedelta(seconds=token_ttl_seconds)
        self._now = now

    def token(self, subject: str) -> str:
        """A short-lived user JWT for ``subject`` (a driver id, or the BFF itself)."""
        now = self._now()
        claims = {"sub": subject, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    async def start_session(
        self, driver_id: str, body: StartSessionRequest
    ) -> StartSessionResponse:
        r = await self._send("POST", "/v1/sessions/start", driver_id, False, body)
        return self.http.parse(StartSessionResponse, r)

    async def stop_session(self, driver_id: str, session_id: str) -> StopSessionResponse:
        body = StopSessionRequest(session_id=session_id)
        r = await self._send("POST", "/v1/sessions/stop", driver_id, False, body)
        return self.http.parse(StopSessionResponse, r)

    async def get_status(self, driver_id: str, session_id: str) -> SessionStatusObject:
        r = await self._send("GET", f"{_session_path(session_id)}/status", driver_id, True)
        return self.http.parse(SessionStatusObject, r)

    async def set_charging_profile(
        self, driver_id: str, session_id: str, body: ChargingProfileRequest
    ) -> ChargingProfileResponse:
        url = f"{_session_path(session_id)}/charging-profile"
        r = await self._send("POST", url, driver_id, False, body)
        return self.http.parse(ChargingProfileResponse, r)

    async def clear_charging_profile(self, driver_id: str, session_id: str) -> ClearProfileResponse:
        url = f"{_session_path(session_id)}/charging-profile"
        r = await self._send("DELETE", url, driver_id, False)
        return self.http.parse(ClearProfileResponse, r)

    async def get_receipt(self, driver_id: str, session_id: str) -> ReceiptResponse:
        r = await self._send("GET", f"{_session_path(session_id)}/receipt", driver_id, True)
        return self.http.parse(ReceiptResponse, r)

    async def search_evses(
        self, latitude: float, longitude: float, radius_meters: int, limit: int | None = None
    ) -> list[EvseWire]:
        params: dict[str, str | int | float] = {
            "latitude": latitude,
            "longitude": longitude,
            "radius": radius_meters,
        }
        if limit is not None:
            params["limit"] = limit
        r = await self._send("GET", "/v1/evses", SERVICE_SUBJECT, True, params=params)
        return self.http.parse(EvseList, r).evses

    async def get_evses(self, evse_ids: Sequence[str]) -> list[EvseWire]:
        """EVSEs by id, one request per :data:`MAX_IDS_PER_LOOKUP` ids; unknown ids absent."""
        ids = list(dict.fromkeys(i for i in evse_ids if i))
        found: list[EvseWire] = []
        for i in range(0, len(ids), MAX_IDS_PER_LOOKUP):
            chunk = ",".join(ids[i : i + MAX_IDS_PER_LOOKUP])
            r = await self._send("GET", "/v1/evses", SERVICE_SUBJECT, True, params={"ids": chunk})
            found.extend(self.http.parse(EvseList, r).evses)
        return found

    async def _send(
        self,
        method: str,
        url: str,
        subject: str,
        idempotent: bool,
        body: WireModel | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token(subject)}", "accept": "application/json"}
        if body is not None:
            kwargs["json"] = body.model_dump(mode="json", exclude_none=True)
        response = await self.http.request(
            method, url, idempotent=idempotent, ok_statuses=_REJECTIONS, headers=headers, **kwargs
        )
        if response.status_code in _REJECTIONS:
            raise _rejection(response)
        return response


def _session_path(session_id: str) -> str:
    # The id reaches us from a client's global ID: keep it one path segment.
    if session_id in ("", ".", ".."):
        raise ProviderNotFound(PROVIDER_NAME, "roaming platform does not know this session")
    return f"/v1/sessions/{quote(session_id, safe='')}"


def _rejection(response: httpx.Response) -> ProviderRejected:
    try:
        code = ErrorBody.model_validate_json(response.content).error
    except ValidationError:
        code = "invalid_request"
    reason, message = PLATFORM_ERRORS.get(code, PLATFORM_ERRORS["invalid_request"])
    return ProviderRejected(PROVIDER_NAME, message, reason=reason)
