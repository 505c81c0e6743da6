"""The Drive API's side of the wire, written from seeds ``000_*`` and ``001_*``: paths,
request bounds, status words, webhook events and the error body.

Nothing here comes from the BFF's client (``bff.providers.plugsurfing``): the simulator
states what Plugsurfing documents, so a client that reads it wrong fails the tests.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

#: The Keycloak token endpoint of seed ``000_*`` (OAuth2 client credentials).
TOKEN_PATH = "/keycloak/realms/longship/protocol/openid-connect/token"

# Request bounds the stage API accepts (400 beyond them).
MAX_HISTORY_LIMIT = 100
MAX_GEOSEARCH_METERS = 50_000
MAX_EVSE_IDS = 100

#: Every ``sessionStatus`` the documents list.
SESSION_WORDS = (
    "CREATED", "WAITING_TO_START", "STARTED", "WAITING_TO_STOP", "STOPPED", "COMPLETE",
    "FAILED", "UNKNOWN", "STOP_FAILED", "REFUNDED",
)  # fmt: skip
#: Every ``balanceStatus`` of seed ``000_*``.
BALANCE_WORDS = ("PROCESSING", "PAID", "DEBT", "REFUND")

#: The session event sent when a session enters a status (seed ``001_*``, Session Events).
EVENT_FOR_STATUS = {
    "STARTED": "SESSION_STARTED",
    "FAILED": "SESSION_START_FAILED",
    "STOPPED": "SESSION_STOPPED",
    "STOP_FAILED": "SESSION_STOP_FAILED",
    "COMPLETE": "SESSION_COMPLETE",
    "REFUNDED": "SESSION_REFUNDED",
}

REMOTE_CAPABILITY = "REMOTE_START_STOP_CAPABLE"


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error answer: ``{"code", "message"}``."""
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
