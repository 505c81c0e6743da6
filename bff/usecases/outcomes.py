"""Why a driver action did not happen: each becomes a typed member of a mutation's union."""

from __future__ import annotations

from bff.errors import BFFError


class ConnectorCoolingDown(BFFError):
    code = "CONNECTOR_COOLING_DOWN"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"this connector was just started; try again in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class ChargerNotRemoteCapable(BFFError):
    code = "CHARGER_NOT_REMOTE_CAPABLE"


class ConnectorUnavailable(BFFError):
    code = "CONNECTOR_UNAVAILABLE"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SessionNotStoppable(BFFError):
    code = "SESSION_NOT_STOPPABLE"

    def __init__(self, message: str, owned: object) -> None:
        super().__init__(message)
        self.owned = owned  # the OwnedSession, shown to the driver with the reason


class SessionNotAbandonable(BFFError):
    code = "SESSION_NOT_ABANDONABLE"


class PaymentNotRetryable(BFFError):
    code = "PAYMENT_NOT_RETRYABLE"


class NotSupported(BFFError):
    code = "NOT_SUPPORTED"
