"""One error hierarchy for the whole package.

    BFFError
     ├── Unauthenticated            no or bad driver token
     ├── NotFound                   unknown id, or another driver's (never says which)
     ├── InvalidInput               bad argument; ``field`` names it
     ├── RateLimited                too many requests; ``retry_after_seconds``
     ├── driver actions that did not happen (each a typed member of a mutation's union):
     │    ConnectorCoolingDown, ChargerNotRemoteCapable, ConnectorUnavailable,
     │    SessionNotStoppable, SessionNotAbandonable, PaymentNotRetryable, NotSupported
     ├── BadRequest                 a body or message the endpoint cannot read (4xx)
     ├── PersistedQueryRefused      an APQ request we do not run; its own code and status
     ├── WebhookRejected            a webhook we refuse (4xx); nothing recorded
     └── ProviderError              anything a provider did; carries ``provider``
          ├── ProviderUnavailable   connection error, timeout, 5xx, circuit open
          ├── ProviderRateLimited   the provider's 429; ``retry_after_seconds``
          ├── ProviderNotFound      the provider's 404 (unknown or expired)
          └── ProviderRejected      the provider refused (4xx); ``code`` says why

httpx errors never leave ``bff.providers``: the clients translate them into these.
Messages are safe to show a driver: no secrets, no upstream bodies.
"""

from __future__ import annotations


class BFFError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(BFFError):
    code = "UNAUTHENTICATED"


class NotFound(BFFError):
    code = "NOT_FOUND"


class InvalidInput(BFFError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RateLimited(BFFError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ProviderError(BFFError):
    code = "PROVIDER_ERROR"

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class ProviderUnavailable(ProviderError):
    code = "PROVIDER_UNAVAILABLE"


class ProviderRateLimited(ProviderError):
    code = "RATE_LIMITED"

    def __init__(self, provider: str, message: str, retry_after_seconds: int) -> None:
        super().__init__(provider, message)
        self.retry_after_seconds = retry_after_seconds


class ProviderNotFound(ProviderError):
    code = "NOT_FOUND"


class ProviderRejected(ProviderError):
    """The provider refused the request; ``reason`` is one of the codes below or its own."""

    code = "PROVIDER_REJECTED"
    CHARGER_OFFLINE = "CHARGER_OFFLINE"
    CONNECTOR_UNAVAILABLE = "CONNECTOR_UNAVAILABLE"
    UNKNOWN_CONNECTOR = "UNKNOWN_CONNECTOR"
    PAYMENT_REQUIRED = "PAYMENT_REQUIRED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    INVALID = "INVALID"

    def __init__(self, provider: str, message: str, reason: str = INVALID) -> None:
        super().__init__(provider, message)
        self.reason = reason


class WebhookRejected(BFFError):
    """A webhook we refuse; ``status_code`` is the 4xx to answer and nothing is recorded."""

    code = "WEBHOOK_REJECTED"

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class BadRequest(BFFError):
    """A request the GraphQL endpoint cannot read (HTTP 400 with the reason); nothing ran."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, status_code: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        if code is not None:
            self.code = code


class PersistedQueryRefused(BFFError):
    """A persisted-query request we do not run (Apollo APQ codes); ``status_code`` is the
    HTTP status to answer with (Apollo answers NOT_FOUND with 200: its link then retries)."""

    def __init__(self, code: str, message: str, status_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code


# -- why a driver action did not happen --------------------------------------------


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
