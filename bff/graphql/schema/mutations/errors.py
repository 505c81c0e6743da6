"""The typed errors that mutation unions share, and how the use cases' errors map to them."""

from __future__ import annotations

import strawberry

from bff import errors as e
from bff.graphql.schema.types.common import Provider
from bff.graphql.schema.types.session import ChargingSession


@strawberry.type
class NotFound:
    message: str


@strawberry.type
class InvalidInput:
    message: str
    field: str | None


@strawberry.type
class RateLimited:
    message: str
    retry_after_seconds: int


@strawberry.type
class ProviderUnavailable:
    message: str
    provider: Provider  # type: ignore[valid-type]


@strawberry.type
class NotSupported:
    message: str


@strawberry.type
class ConnectorCoolingDown:
    message: str
    retry_after_seconds: int


@strawberry.type
class ChargerNotRemoteCapable:
    message: str


@strawberry.type
class ConnectorUnavailable:
    message: str
    reason: str


@strawberry.type
class SessionNotStoppable:
    message: str
    session: ChargingSession


@strawberry.type
class SessionNotAbandonable:
    message: str


@strawberry.type
class PaymentNotRetryable:
    message: str


Typed = (
    NotFound
    | InvalidInput
    | RateLimited
    | ProviderUnavailable
    | NotSupported
    | ConnectorCoolingDown
    | ChargerNotRemoteCapable
    | ConnectorUnavailable
    | SessionNotAbandonable
    | PaymentNotRetryable
)


def typed_error(exc: Exception) -> Typed:
    """The union member for a use case's error; anything else is re-raised by the caller."""
    match exc:
        case e.NotFound() | e.ProviderNotFound():
            return NotFound(message=exc.message)
        case e.InvalidInput():
            return InvalidInput(message=exc.message, field=exc.field)
        case e.RateLimited() | e.ProviderRateLimited():
            return RateLimited(message=exc.message, retry_after_seconds=exc.retry_after_seconds)
        case e.ProviderError():
            from bff.domain.model import Provider as P

            return ProviderUnavailable(
                message=f"{exc.provider} is unavailable, try again shortly",
                provider=P(exc.provider),
            )
        case e.NotSupported():
            return NotSupported(message=exc.message)
        case e.ConnectorCoolingDown():
            return ConnectorCoolingDown(
                message=exc.message, retry_after_seconds=exc.retry_after_seconds
            )
        case e.ChargerNotRemoteCapable():
            return ChargerNotRemoteCapable(message=exc.message)
        case e.ConnectorUnavailable():
            return ConnectorUnavailable(message=exc.message, reason=exc.reason)
        case e.SessionNotAbandonable():
            return SessionNotAbandonable(message=exc.message)
        case e.PaymentNotRetryable():
            return PaymentNotRetryable(message=exc.message)
    raise exc
