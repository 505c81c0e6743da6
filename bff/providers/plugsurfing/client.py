"""A thin client of the Drive API: one method per endpoint, pydantic models out.

Reads (including the geosearch POST) are idempotent and retried by
:class:`bff.providers.http.ProviderHttp`; writes are sent once. 4xx answers with an error
``code`` become :class:`bff.errors.ProviderRejected` with a reason from
:data:`constants.ERROR_REASON`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from bff.errors import ProviderError, ProviderNotFound, ProviderRejected
from bff.providers.http import ProviderHttp
from bff.providers.plugsurfing.constants import (
    ERROR_MESSAGE,
    ERROR_REASON,
    PROVIDER_NAME,
    error_reason,
)
from bff.providers.plugsurfing.schemas import (
    ErrorBody,
    LocationsResponse,
    PaymentChallenge,
    ReceiptModel,
    SessionModel,
    SessionPageModel,
    StartResponse,
)

log = logging.getLogger(__name__)


#: 4xx answers whose body says why; read them instead of a bare ProviderRejected.
_EXPLAINED = (400, 402, 403, 404, 409, 422)


def _seg(value: str) -> str:
    """One URL path segment (driver ids and session ids are opaque to us)."""
    return quote(value, safe="")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _error(response: httpx.Response) -> ProviderError:
    try:
        code = ErrorBody.model_validate_json(response.content).code
    except ValidationError:
        code = None
    if response.status_code == 404 and code not in ERROR_REASON:
        return ProviderNotFound(PROVIDER_NAME, "Plugsurfing does not know this resource")
    detail = f" ({code})" if code else ""
    message = ERROR_MESSAGE.get(code or "", f"Plugsurfing rejected the request{detail}")
    return ProviderRejected(PROVIDER_NAME, message, reason=error_reason(code))


class PlugsurfingClient:
    """The Drive API endpoints the BFF uses; auth is on the underlying httpx client."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    async def geosearch_radius(
        self,
        latitude: float,
        longitude: float,
        distance_meters: int,
        limit: int,
        filters: Mapping[str, object] | None = None,
    ) -> LocationsResponse:
        response = await self.http.request(
            "POST",
            "/drive/v1/geosearch/radius",
            idempotent=True,
            params={
                "latitude": latitude,
                "longitude": longitude,
                "distance": distance_meters,
                "limit": limit,
                "aggregate": "false",
            },
            json={"filters": dict(filters or {})},
        )
        return self.http.parse(LocationsResponse, response)

    async def get_evses(self, evse_ids: Sequence[str]) -> LocationsResponse:
        """Many EVSEs in one request, grouped by location; unknown ids are left out."""
        response = await self.http.request(
            "GET", "/drive/v1/evses", idempotent=True, params={"ids": ",".join(evse_ids)}
        )
        return self.http.parse(LocationsResponse, response)

    async def start_session(
        self, user_id: str, connector_id: str
    ) -> StartResponse | PaymentChallenge:
        """The new session id, or the 3-D Secure challenge of a 402."""
        response = await self.http.request(
            "POST",
            f"/drive/v1/users/{_seg(user_id)}/sessions/start",
            idempotent=False,
            ok_statuses=_EXPLAINED,
            json={"connectorId": connector_id},
        )
        if response.status_code == 402:
            challenge = self.http.parse(PaymentChallenge, response)
            if challenge.session_id and challenge.client_secret:
                return challenge
        if response.status_code in _EXPLAINED:
            raise _error(response)
        return self.http.parse(StartResponse, response)

    async def stop_session(self, user_id: str, session_id: str) -> SessionModel | None:
        """The session after the stop request, or None when the answer has no body."""
        return await self._act(user_id, session_id, "stop")

    async def get_session(self, user_id: str, session_id: str) -> SessionModel:
        response = await self.http.request(
            "GET",
            f"/drive/v1/users/{_seg(user_id)}/sessions/{_seg(session_id)}",
            idempotent=True,
        )
        return self.http.parse(SessionModel, response)

    async def list_sessions(
        self,
        user_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        statuses: Sequence[str] | None = None,
    ) -> SessionPageModel:
        """A page of the user's history, newest first; ``from`` inclusive, ``to`` exclusive."""
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if started_from is not None:
            params["from"] = _iso(started_from)
        if started_to is not None:
            params["to"] = _iso(started_to)
        if statuses:
            params["status"] = ",".join(statuses)
        response = await self.http.request(
            "GET", f"/drive/v1/users/{_seg(user_id)}/sessions", idempotent=True, params=params
        )
        return self.http.parse(SessionPageModel, response)

    async def get_receipt(self, session_id: str) -> ReceiptModel | None:
        """The receipt's signed URL, or None while there is no receipt."""
        response = await self.http.request(
            "GET",
            f"/drive/v1/sessions/{_seg(session_id)}/receipt",
            idempotent=True,
            ok_statuses=(404,),
        )
        if response.status_code == 404:
            return None
        return self.http.parse(ReceiptModel, response)

    async def retry_payment(self, user_id: str, session_id: str) -> SessionModel | None:
        return await self._act(user_id, session_id, "retry-payment")

    async def _act(self, user_id: str, session_id: str, action: str) -> SessionModel | None:
        """``POST .../sessions/{id}/{action}``: the session after it, or None when the
        answer has no body; an explained refusal raises its error."""
        response = await self.http.request(
            "POST",
            f"/drive/v1/users/{_seg(user_id)}/sessions/{_seg(session_id)}/{action}",
            idempotent=False,
            ok_statuses=_EXPLAINED,
        )
        if response.status_code in _EXPLAINED:
            raise _error(response)
        return self.http.parse(SessionModel, response) if response.content.strip() else None
