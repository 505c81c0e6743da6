"""The roaming platform's side of the wire, written from seed ``003_*`` (OCPI 2.2.1 where
it is silent): its session words, the request bodies it accepts, its webhook type.

Nothing here comes from the BFF's client (``bff.providers.roaming``): the simulator
states what the platform documents, so a client that reads it wrong fails the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NETWORK = "Virta"

# Session status values (seed 003, "Status values").
PENDING = "pending"  # waiting for CPO confirmation
ACTIVE = "active"  # charging in progress
STOPPING = "stopping"  # stop command sent to CPO
COMPLETED = "completed"  # session finished, CDR received
FAILED = "failed"  # error or rejected by CPO
FINAL_WORDS = frozenset({COMPLETED, FAILED})

SESSION_UPDATED = "session.updated"  # the one webhook type

# OCPI 2.2.1 Capability values the platform lists on an EVSE.
CAP_REMOTE_START_STOP = "REMOTE_START_STOP_CAPABLE"
CAP_CHARGING_PROFILE = "CHARGING_PROFILE_CAPABLE"
CAP_RFID_READER = "RFID_READER"

#: OCPI ConnectorType -> the ``connector_type`` the start call takes (seed 003 starts
#: with ``"CCS"``); a type not listed is named by its OCPI word.
CONNECTOR_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "IEC_62196_T2_COMBO": "CCS",
        "IEC_62196_T1_COMBO": "CCS1",
        "IEC_62196_T2": "TYPE2",
        "IEC_62196_T1": "TYPE1",
        "CHADEMO": "CHADEMO",
        "DOMESTIC_F": "SCHUKO",
        "TESLA_S": "TESLA",
    }
)


def _utc(value: datetime) -> datetime:
    # OCPI DateTime is UTC: a timestamp without an offset is taken as UTC.
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00; pydantic reports ValueErrors only
        raise ValueError("timestamp out of range") from None


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]


class Body(BaseModel):
    """A request body; unknown fields ignored, as the platform does."""

    # NaN and Infinity are no energies or power limits.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class StartBody(Body):
    """``POST /v1/sessions/start``."""

    evse_id: str = Field(min_length=1)
    connector_type: str = Field(min_length=1)
    battery_target_kwh: float | None = Field(default=None, gt=0)


class StopBody(Body):
    """``POST /v1/sessions/stop``."""

    session_id: str = Field(min_length=1)


class PeriodBody(Body):
    start_period: int = Field(ge=0)  # seconds from the start of the profile
    limit: int = Field(gt=0)  # watts


class ProfileBody(Body):
    """``POST /v1/sessions/{id}/charging-profile``: a cap, a departure time, or periods."""

    max_charge_rate_kw: float | None = Field(default=None, gt=0)
    departure_time: UtcDateTime | None = None
    periods: list[PeriodBody] | None = None
