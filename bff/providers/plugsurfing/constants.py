"""Plugsurfing's words and how they map to the domain (seed ``001_*``).

The session status enum must accept unknown values: a word we do not know is treated as
``FAILED`` and logged, so a new upstream status never breaks a driver's session list.
"""

from __future__ import annotations

import logging

from bff.domain.model import ChargerStatus, PaymentStatus, SessionStatus
from bff.errors import ProviderRejected

log = logging.getLogger(__name__)

PROVIDER_NAME = "PLUGSURFING"
TOKEN_PATH = "/keycloak/realms/longship/protocol/openid-connect/token"

#: ``sessionStatus`` -> (status, stop_failed).
SESSION_STATUS: dict[str, tuple[SessionStatus, bool]] = {
    "CREATED": (SessionStatus.STARTING, False),
    "WAITING_TO_START": (SessionStatus.STARTING, False),
    "STARTED": (SessionStatus.CHARGING, False),
    "WAITING_TO_STOP": (SessionStatus.STOPPING, False),
    # Still charging; a new stop request may be retried (seed 001).
    "STOP_FAILED": (SessionStatus.CHARGING, True),
    "STOPPED": (SessionStatus.STOPPED, False),
    "COMPLETE": (SessionStatus.COMPLETED, False),
    "FAILED": (SessionStatus.FAILED, False),
    "REFUNDED": (SessionStatus.REFUNDED, False),
    "UNKNOWN": (SessionStatus.FAILED, False),
}

#: Words whose sessions are priced for good: the cost is no longer an estimate.
FINAL_PRICE_WORDS = frozenset({"COMPLETE", "REFUNDED"})
#: Words whose session has ended, so ``startTime + duration`` is the end time.
ENDED_WORDS = frozenset({"STOPPED", "COMPLETE", "REFUNDED"})

#: ``balanceStatus`` -> payment status.
BALANCE_STATUS: dict[str, PaymentStatus] = {
    "PROCESSING": PaymentStatus.PROCESSING,
    "PAID": PaymentStatus.PAID,
    "DEBT": PaymentStatus.DEBT,
    "REFUND": PaymentStatus.REFUNDED,
}

#: Webhook events as the API reference names them.
CANONICAL_EVENTS = frozenset(
    {
        "SESSION_STARTED",
        "SESSION_START_FAILED",
        "SESSION_STOPPED",
        "SESSION_STOP_FAILED",
        "SESSION_COMPLETE",
        "SESSION_REFUNDED",
    }
)
#: Other spellings the guide uses; every event is only a prompt to re-fetch the session.
EVENT_ALIASES = frozenset({"SESSION_COMPLETED", "SESSION_FAILED", "SESSION_FEE_INCURRING"})
KNOWN_EVENTS = CANONICAL_EVENTS | EVENT_ALIASES

#: EVSE/connector status words (OCPI spelling, plus a few variants) -> charger status.
CHARGER_STATUS: dict[str, ChargerStatus] = {
    "AVAILABLE": ChargerStatus.AVAILABLE,
    "OCCUPIED": ChargerStatus.OCCUPIED,
    "CHARGING": ChargerStatus.OCCUPIED,
    "RESERVED": ChargerStatus.RESERVED,
    "OUTOFORDER": ChargerStatus.OUT_OF_ORDER,
    "OUT_OF_ORDER": ChargerStatus.OUT_OF_ORDER,
    "BLOCKED": ChargerStatus.OUT_OF_ORDER,
    "INOPERATIVE": ChargerStatus.OUT_OF_ORDER,
    "OFFLINE": ChargerStatus.OFFLINE,
    "PLANNED": ChargerStatus.OFFLINE,
    "REMOVED": ChargerStatus.OFFLINE,
    "UNKNOWN": ChargerStatus.UNKNOWN,
}

#: Connector standards (OCPI ``ConnectorType`` and short forms) -> our short names.
CONNECTOR_STANDARD: dict[str, str] = {
    "IEC_62196_T2_COMBO": "CCS",
    "CCS": "CCS",
    "CCS2": "CCS",
    "IEC_62196_T1_COMBO": "CCS1",
    "IEC_62196_T2": "TYPE2",
    "TYPE2": "TYPE2",
    "TYPE_2": "TYPE2",
    "IEC_62196_T1": "TYPE1",
    "TYPE1": "TYPE1",
    "CHADEMO": "CHADEMO",
    "DOMESTIC_F": "SCHUKO",
    "TESLA_S": "TESLA",
}

REMOTE_CAPABILITY = "REMOTE_START_STOP_CAPABLE"

# Request bounds the Drive API accepts (the sandbox answers 400 beyond them).
MAX_HISTORY_LIMIT = 100
MAX_GEOSEARCH_METERS = 50_000
MAX_EVSE_IDS = 100

#: Error ``code`` of a 4xx body -> :class:`ProviderRejected` reason.
ERROR_REASON: dict[str, str] = {
    "CHARGER_NOT_REMOTE_CAPABLE": ProviderRejected.NOT_SUPPORTED,
    "SESSION_NOT_REMOTE": ProviderRejected.NOT_SUPPORTED,
    "CONNECTOR_BLOCKED": ProviderRejected.CONNECTOR_UNAVAILABLE,
    "CONNECTOR_UNAVAILABLE": ProviderRejected.CONNECTOR_UNAVAILABLE,
    "CONNECTOR_OCCUPIED": ProviderRejected.CONNECTOR_UNAVAILABLE,
    "CONNECTOR_NOT_FOUND": ProviderRejected.UNKNOWN_CONNECTOR,
    "UNKNOWN_CONNECTOR": ProviderRejected.UNKNOWN_CONNECTOR,
    "CHARGER_OFFLINE": ProviderRejected.CHARGER_OFFLINE,
    "PAYMENT_AUTHENTICATION_REQUIRED": ProviderRejected.PAYMENT_REQUIRED,
    "PAYMENT_METHOD_MISSING": ProviderRejected.PAYMENT_REQUIRED,
}
#: What a driver reads for the refusals of a start they can act on (others: a generic one).
ERROR_MESSAGE: dict[str, str] = {
    "CONNECTOR_OCCUPIED": "Someone is charging at this charger",
    "CONNECTOR_BLOCKED": "This connector was just started; try again in a minute",
    "CONNECTOR_UNAVAILABLE": "This connector is not available",
    "CHARGER_OFFLINE": "This charger is offline",
}


def map_session_status(word: str) -> tuple[SessionStatus, bool]:
    """(status, stop_failed) for a ``sessionStatus``; unknown words are FAILED and logged."""
    found = SESSION_STATUS.get(word)
    if found is None:
        log.warning("unknown plugsurfing session status %r treated as FAILED", word)
        return SessionStatus.FAILED, False
    return found


def map_balance_status(word: str | None) -> PaymentStatus:
    """The payment status for a ``balanceStatus``; absent means nothing to pay yet."""
    if word is None:
        return PaymentStatus.NONE
    found = BALANCE_STATUS.get(word)
    if found is None:
        # Not known to be settled: show it as still being processed.
        log.warning("unknown plugsurfing balance status %r treated as PROCESSING", word)
        return PaymentStatus.PROCESSING
    return found


def map_charger_status(word: str | None) -> ChargerStatus:
    if word is None:
        return ChargerStatus.UNKNOWN
    return CHARGER_STATUS.get(word.upper(), ChargerStatus.UNKNOWN)


def map_connector_standard(word: str | None) -> str:
    if not word:
        return "UNKNOWN"
    return CONNECTOR_STANDARD.get(word.upper(), word.upper())


def error_reason(code: str | None) -> str:
    return ERROR_REASON.get(code or "", ProviderRejected.INVALID)


def words_for_statuses(statuses: frozenset[SessionStatus]) -> list[str]:
    """The ``sessionStatus`` words that map to any of ``statuses`` (for history filters)."""
    return sorted(word for word, (status, _) in SESSION_STATUS.items() if status in statuses)
