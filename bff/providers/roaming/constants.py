"""The roaming platform's words and how they map to the domain.

Session words come from seed 003; EVSE statuses, capabilities and connector types are
OCPI 2.2.1's (``mod_locations``). Unknown words are logged and mapped conservatively.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType

from bff.domain.model import ChargerStatus, PaymentStatus, SessionStatus
from bff.errors import ProviderRejected

log = logging.getLogger(__name__)

PROVIDER_NAME = "ROAMING"
NETWORK = "Virta"

PENDING = "pending"
ACTIVE = "active"
STOPPING = "stopping"
COMPLETED = "completed"
FAILED = "failed"

SESSION_STATUS: Mapping[str, SessionStatus] = MappingProxyType(
    {
        PENDING: SessionStatus.STARTING,  # waiting for CPO confirmation
        ACTIVE: SessionStatus.CHARGING,
        STOPPING: SessionStatus.STOPPING,  # stop command sent to the CPO
        COMPLETED: SessionStatus.COMPLETED,  # finished, CDR received (priced)
        FAILED: SessionStatus.FAILED,  # error or rejected by the CPO
    }
)
FINAL_WORDS = frozenset({COMPLETED, FAILED})


def map_session_status(word: str) -> SessionStatus:
    """The domain status for a platform word; an unknown word is FAILED (and logged)."""
    status = SESSION_STATUS.get(word.strip().lower())
    if status is None:
        log.warning("unknown roaming session status", extra={"status_word": word})
        return SessionStatus.FAILED
    return status


# A receipt's ``payment_status`` (seed 003 shows ``paid``; the Payments API's other words).
RECEIPT_PAYMENT_STATUS: Mapping[str, PaymentStatus] = MappingProxyType(
    {
        "paid": PaymentStatus.PAID,
        "pending": PaymentStatus.PROCESSING,
        "processing": PaymentStatus.PROCESSING,
        "failed": PaymentStatus.FAILED,
        "refunded": PaymentStatus.REFUNDED,
    }
)


def map_receipt_payment_status(word: str | None) -> PaymentStatus | None:
    """The payment status a receipt states; an unknown word is PROCESSING (not known to be
    settled, and logged), an absent one None."""
    if word is None:
        return None
    status = RECEIPT_PAYMENT_STATUS.get(word.strip().lower())
    if status is None:
        log.warning("unknown roaming receipt payment status", extra={"status_word": word})
        return PaymentStatus.PROCESSING
    return status


EVSE_STATUS: Mapping[str, ChargerStatus] = MappingProxyType(
    {
        "AVAILABLE": ChargerStatus.AVAILABLE,
        "CHARGING": ChargerStatus.OCCUPIED,
        "BLOCKED": ChargerStatus.OCCUPIED,  # e.g. a parked car in front of it
        "RESERVED": ChargerStatus.RESERVED,
        "OUTOFORDER": ChargerStatus.OUT_OF_ORDER,
        "INOPERATIVE": ChargerStatus.OUT_OF_ORDER,
        "PLANNED": ChargerStatus.OFFLINE,  # not yet in operation
        "REMOVED": ChargerStatus.OFFLINE,
        "UNKNOWN": ChargerStatus.UNKNOWN,
    }
)


def map_evse_status(word: str) -> ChargerStatus:
    """The domain charger status for an OCPI EVSE status; unknown words are UNKNOWN."""
    status = EVSE_STATUS.get(word.strip().upper())
    if status is None:
        log.warning("unknown OCPI EVSE status", extra={"status_word": word})
        return ChargerStatus.UNKNOWN
    return status


# OCPI Capability values we act on.
CAP_REMOTE_START_STOP = "REMOTE_START_STOP_CAPABLE"
CAP_CHARGING_PROFILE = "CHARGING_PROFILE_CAPABLE"

# OCPI ConnectorType -> the short standard the domain and the platform's start call use
# (seed 003 starts with ``"connector_type": "CCS"``).
CONNECTOR_STANDARD: Mapping[str, str] = MappingProxyType(
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


def connector_standard(ocpi_type: str) -> str:
    """The short standard for an OCPI connector type; other types keep their OCPI name."""
    return CONNECTOR_STANDARD.get(ocpi_type, ocpi_type)


RECEIPT_NOT_AVAILABLE = "RECEIPT_NOT_AVAILABLE"
SESSION_ENDED = "SESSION_ENDED"

# The platform's error codes (``{"error": code}`` on a 4xx) -> (reason, safe message).
PLATFORM_ERRORS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "smart_charging_not_supported": (
            ProviderRejected.NOT_SUPPORTED,
            "This charger does not support smart charging",
        ),
        "evse_out_of_order": (ProviderRejected.CHARGER_OFFLINE, "This charger is out of order"),
        "evse_occupied": (ProviderRejected.CONNECTOR_UNAVAILABLE, "This charger is in use"),
        "unknown_connector_type": (
            ProviderRejected.UNKNOWN_CONNECTOR,
            "This charger has no such connector",
        ),
        "session_not_active": (SESSION_ENDED, "The session has already ended"),
        "receipt_not_available": (RECEIPT_NOT_AVAILABLE, "The receipt is not available yet"),
        "invalid_request": (ProviderRejected.INVALID, "The roaming platform refused the request"),
    }
)
