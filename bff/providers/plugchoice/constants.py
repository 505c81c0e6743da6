"""Plugchoice's words and how they map to the domain (seed ``002_*``).

Plugchoice v3 public charging reports one ``status`` word per session that covers both
the charge and the Stripe pre-authorization; the domain splits it into a
:class:`SessionStatus` and a :class:`PaymentStatus`. Unknown words are logged and map to
``FAILED`` (session) and ``NONE`` (payment), so a new word never breaks a screen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from bff.domain.model import ChargerStatus, PaymentStatus, SessionStatus

log = logging.getLogger(__name__)

PROVIDER_NAME = "PLUGCHOICE"
API_BASE = "/api/v3/public-charging"
#: Paths whose ``{secret}`` segment is a credential (the session token): every log line
#: masks it wherever such a path appears, our client's URLs and the sandbox's routes alike.
SECRET_PATHS = (f"{API_BASE}/sessions/{{secret}}",)

SESSION_STATUS: Mapping[str, SessionStatus] = MappingProxyType(
    {
        # The Stripe pre-authorization exists but the driver has not confirmed it yet.
        "created": SessionStatus.STARTING,
        "authorized": SessionStatus.STARTING,
        "starting": SessionStatus.STARTING,
        "charging": SessionStatus.CHARGING,
        "stopping": SessionStatus.STOPPING,
        # Charging has ended; the final amount is being worked out.
        "settling": SessionStatus.STOPPED,
        "captured": SessionStatus.COMPLETED,
        # Ended without delivering energy: a failure for the driver, nothing is charged.
        "no_charge": SessionStatus.FAILED,
        "expired": SessionStatus.FAILED,
        "failed": SessionStatus.FAILED,
        "abandoned": SessionStatus.ABANDONED,
        # The charge is over and priced; only the money is in trouble (see the payment).
        "capture_failed": SessionStatus.COMPLETED,
        "requires_review": SessionStatus.STOPPED,
        "refunded": SessionStatus.REFUNDED,
        "written_off": SessionStatus.COMPLETED,
    }
)

PAYMENT_STATUS: Mapping[str, PaymentStatus] = MappingProxyType(
    {
        "created": PaymentStatus.REQUIRES_ACTION,
        "authorized": PaymentStatus.AUTHORIZED,
        "starting": PaymentStatus.AUTHORIZED,
        "charging": PaymentStatus.AUTHORIZED,
        "stopping": PaymentStatus.AUTHORIZED,
        "settling": PaymentStatus.PROCESSING,
        "requires_review": PaymentStatus.PROCESSING,
        "captured": PaymentStatus.PAID,
        "capture_failed": PaymentStatus.FAILED,
        "refunded": PaymentStatus.REFUNDED,
        "written_off": PaymentStatus.WRITTEN_OFF,
        # The hold is released: nothing was or will be taken.
        "expired": PaymentStatus.NONE,
        "failed": PaymentStatus.NONE,
        "no_charge": PaymentStatus.NONE,
        "abandoned": PaymentStatus.NONE,
    }
)

# OCPP 1.6 ChargePointStatus words (plus OCPP 2.0.1's "Occupied"), matched without case.
CONNECTOR_STATUS: Mapping[str, ChargerStatus] = MappingProxyType(
    {
        "available": ChargerStatus.AVAILABLE,
        "preparing": ChargerStatus.OCCUPIED,
        "charging": ChargerStatus.OCCUPIED,
        "suspendedev": ChargerStatus.OCCUPIED,
        "suspendedevse": ChargerStatus.OCCUPIED,
        "finishing": ChargerStatus.OCCUPIED,
        "occupied": ChargerStatus.OCCUPIED,
        "reserved": ChargerStatus.RESERVED,
        "faulted": ChargerStatus.OUT_OF_ORDER,
        "unavailable": ChargerStatus.OUT_OF_ORDER,
    }
)

# Plugchoice connector standards (OCPI names) -> the domain's short names.
CONNECTOR_STANDARD: Mapping[str, str] = MappingProxyType(
    {
        "IEC_62196_T2": "TYPE2",
        "IEC_62196_T2_COMBO": "CCS",
        "IEC_62196_T1": "TYPE1",
        "IEC_62196_T1_COMBO": "CCS1",
        "CHADEMO": "CHADEMO",
        "DOMESTIC_F": "SCHUKO",
        "TESLA_S": "TESLA",
    }
)

#: Words while the session can still change on its own: the BFF polls these.
LIVE_WORDS = frozenset({"created", "authorized", "starting", "charging", "stopping", "settling"})
#: Words in which Plugchoice accepts a cancel (releases the hold).
CANCELLABLE_WORDS = frozenset({"created", "authorized", "starting"})
#: Words after which the driver can be shown a receipt: the money was taken.
CAPTURED_WORDS = frozenset({"captured", "refunded"})
#: Words whose ``cost_amount`` is final although nothing was captured.
FINAL_UNCAPTURED_WORDS = frozenset({"capture_failed", "written_off"})

NO_CHARGE_REASON = "The session ended without delivering energy."
EXPIRED_REASON = "The payment was not confirmed in time."


def map_session_status(word: str) -> SessionStatus:
    """The domain status for a Plugchoice session word; unknown words are FAILED."""
    status = SESSION_STATUS.get(word.strip().lower())
    if status is None:
        log.warning("unknown Plugchoice session status %r; treating it as FAILED", word)
        return SessionStatus.FAILED
    return status


def map_payment_status(word: str) -> PaymentStatus:
    """The payment status implied by a Plugchoice session word; unknown words are NONE."""
    status = PAYMENT_STATUS.get(word.strip().lower())
    if status is None:
        log.warning("unknown Plugchoice session status %r; payment status NONE", word)
        return PaymentStatus.NONE
    return status


def map_connector_status(word: str | None, online: bool = True) -> ChargerStatus:
    """A connector's OCPP status as a :class:`ChargerStatus`; an offline charger is OFFLINE.

    An offline charger's last reported connector status is stale, so it does not count.
    """
    if not online:
        return ChargerStatus.OFFLINE
    if word is None:
        return ChargerStatus.UNKNOWN
    status = CONNECTOR_STATUS.get(word.strip().lower())
    if status is None:
        log.warning("unknown OCPP connector status %r", word)
        return ChargerStatus.UNKNOWN
    return status


def map_connector_standard(word: str | None) -> str:
    """The domain's connector standard name; unlisted standards pass through unchanged."""
    if not word:
        return "UNKNOWN"
    return CONNECTOR_STANDARD.get(word.strip().upper(), word.strip().upper())


#: Plugchoice's public charging is Dutch: the Netherlands' standard VAT rate, in euros.
#: Its API states a session's VAT amount (``tax_amount``), never the rate.
HOME_VAT_PERCENT = Decimal(21)
HOME_CURRENCY = "EUR"
