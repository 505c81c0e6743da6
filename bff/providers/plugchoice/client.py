"""A thin client of Plugchoice v3 public charging: one method per endpoint.

No endpoint needs authentication: the session token in the path is the credential, so it
is URL-quoted and never logged. Reads are retried by :class:`ProviderHttp`; writes are
sent once. Each endpoint's documented error statuses become :mod:`bff.errors` kinds here:

    start    400 charger offline, 404 unknown charger, 409 connector unavailable,
             422 unknown connector (or another invalid field), 429 rate limited
    show     404 unknown or expired token
    confirm  404 unknown or expired token
    stop     400 charger refused or offline, 404, 409 not stoppable in its state
    cancel   404, 409 can no longer be cancelled
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from bff.errors import ProviderNotFound, ProviderRejected
from bff.providers.http import ProviderHttp
from bff.providers.plugchoice.constants import API_BASE, PROVIDER_NAME
from bff.providers.plugchoice.schemas import (
    ChargerList,
    ErrorBody,
    PublicCharger,
    SessionEnvelope,
    StartResponse,
)

#: Codes per ``GET /chargers?codes=``; longer lists are split into several requests.
MAX_CODES_PER_REQUEST = 50
_READ_ERRORS = (404,)
_WRITE_ERRORS = (400, 404, 409, 422)
_GONE = "Plugchoice does not know this session: the token is unknown or expired"
_NO_CHARGER = "Plugchoice does not know this charger or it has no public charging"

# status -> (reason, message) per write endpoint; 404 is handled alike everywhere.
_START: Mapping[int, tuple[str, str]] = {
    400: (ProviderRejected.CHARGER_OFFLINE, "The charger is offline"),
    409: (ProviderRejected.CONNECTOR_UNAVAILABLE, "The connector is not available"),
    422: (ProviderRejected.UNKNOWN_CONNECTOR, "The charger has no such connector"),
}
_STOP: Mapping[int, tuple[str, str]] = {
    400: (
        ProviderRejected.CHARGER_OFFLINE,
        "The charger refused the stop or is offline; unplug the cable to end the session",
    ),
    409: (ProviderRejected.INVALID, "The session cannot be stopped in its current state"),
}
_CANCEL: Mapping[int, tuple[str, str]] = {
    409: (ProviderRejected.INVALID, "The session can no longer be cancelled"),
}
_CONFIRM: Mapping[int, tuple[str, str]] = {}


class PlugchoiceClient:
    """Plugchoice's public-charging endpoints over one :class:`ProviderHttp`."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    async def start_session(
        self, public_code: str, connector_id: int, email: str | None = None
    ) -> StartResponse:
        """``POST /sessions``: creates the session and its Stripe pre-authorization."""
        body: dict[str, Any] = {"code": public_code, "connector_id": connector_id}
        if email:
            body["email"] = email
        response = await self._write(
            f"{API_BASE}/sessions", _START, not_found=_NO_CHARGER, json=body
        )
        return self.http.parse(StartResponse, response)

    async def show_session(self, token: str) -> SessionEnvelope:
        """``GET /sessions/{token}``: the session now (poll this; 30 a minute)."""
        response = await self.http.request(
            "GET", _session_url(token), idempotent=True, ok_statuses=_READ_ERRORS
        )
        if response.status_code == 404:
            raise ProviderNotFound(PROVIDER_NAME, _GONE)
        return self.http.parse(SessionEnvelope, response)

    async def confirm_session(self, token: str) -> SessionEnvelope:
        """``POST /sessions/{token}/confirm`` after the browser's ``stripe.confirmPayment``."""
        response = await self._write(_session_url(token, "confirm"), _CONFIRM)
        return self.http.parse(SessionEnvelope, response)

    async def stop_session(self, token: str) -> SessionEnvelope:
        """``POST /sessions/{token}/stop``: asks the charger to stop an active charge."""
        response = await self._write(_session_url(token, "stop"), _STOP)
        return self.http.parse(SessionEnvelope, response)

    async def cancel_session(self, token: str) -> SessionEnvelope:
        """``POST /sessions/{token}/cancel``: before charging begins; releases the hold."""
        response = await self._write(_session_url(token, "cancel"), _CANCEL)
        return self.http.parse(SessionEnvelope, response)

    async def search_chargers(
        self, latitude: float, longitude: float, radius_meters: int, limit: int | None = None
    ) -> list[PublicCharger]:
        """``GET /chargers?latitude&longitude&radius``: public chargers near a point."""
        params: dict[str, str | int | float] = {
            "latitude": latitude,
            "longitude": longitude,
            "radius": radius_meters,
        }
        if limit is not None:
            params["limit"] = limit
        response = await self.http.request(
            "GET", f"{API_BASE}/chargers", idempotent=True, params=params
        )
        return self.http.parse(ChargerList, response).data

    async def get_chargers(self, public_codes: Sequence[str]) -> list[PublicCharger]:
        """``GET /chargers?codes=a,b``: many chargers per request; unknown codes are absent."""
        codes = list(dict.fromkeys(c for c in public_codes if c))
        found: list[PublicCharger] = []
        for i in range(0, len(codes), MAX_CODES_PER_REQUEST):
            chunk = codes[i : i + MAX_CODES_PER_REQUEST]
            response = await self.http.request(
                "GET", f"{API_BASE}/chargers", idempotent=True, params={"codes": ",".join(chunk)}
            )
            found.extend(self.http.parse(ChargerList, response).data)
        return found

    async def _write(
        self,
        url: str,
        errors: Mapping[int, tuple[str, str]],
        not_found: str = _GONE,
        **kwargs: Any,
    ) -> httpx.Response:
        response = await self.http.request(
            "POST", url, idempotent=False, ok_statuses=_WRITE_ERRORS, **kwargs
        )
        if response.status_code < 400:
            return response
        if response.status_code == 404:
            raise ProviderNotFound(PROVIDER_NAME, not_found)
        raise _error(response, errors)


def _session_url(token: str, action: str | None = None) -> str:
    url = f"{API_BASE}/sessions/{quote(token, safe='')}"
    return f"{url}/{action}" if action else url


def _error(response: httpx.Response, errors: Mapping[int, tuple[str, str]]) -> ProviderRejected:
    status = response.status_code
    if status == 422 and status in errors:
        fields = _error_fields(response)
        # Laravel answers 422 for any invalid field; only connector_id means "no such connector".
        if fields and "connector_id" not in fields:
            return ProviderRejected(
                PROVIDER_NAME,
                f"Plugchoice rejected the {', '.join(sorted(fields))}",
                ProviderRejected.INVALID,
            )
    if status in errors:
        reason, message = errors[status]
        return ProviderRejected(PROVIDER_NAME, message, reason)
    return ProviderRejected(PROVIDER_NAME, f"Plugchoice rejected the request ({status})")


def _error_fields(response: httpx.Response) -> set[str]:
    try:
        body = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return set()
    return set(body.errors or {})
