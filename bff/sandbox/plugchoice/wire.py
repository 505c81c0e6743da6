"""Plugchoice's side of the wire, written from seed ``002_*``: the API's base path, the
words it documents, and the start body it accepts.

Nothing here comes from the BFF's client (``bff.providers.plugchoice``): the simulator
states what Plugchoice documents, so a client that reads it wrong fails the tests.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

API_BASE = "/api/v3/public-charging"

#: Every session ``status`` the documentation lists.
SESSION_WORDS = (
    "created", "authorized", "starting", "charging", "stopping", "settling", "captured",
    "no_charge", "expired", "failed", "abandoned", "capture_failed", "requires_review",
    "refunded", "written_off",
)  # fmt: skip
#: Every ``connector_status`` the documentation lists (OCPP 1.6 ChargePointStatus).
CONNECTOR_WORDS = (
    "Available", "Charging", "Faulted", "Finishing", "Preparing", "Reserved",
    "SuspendedEV", "SuspendedEVSE", "Unavailable",
)  # fmt: skip


class StartBody(BaseModel):
    """The body of ``POST /sessions``: a charger's public code and an OCPP connector id."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(min_length=1, max_length=10)
    connector_id: int = Field(ge=1, le=100)
    email: str | None = Field(default=None, max_length=255)
