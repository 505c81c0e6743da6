"""The typed errors that mutation unions share (each a :class:`UserError`), and how the use
cases' errors map to them."""

from __future__ import annotations

import strawberry

from bff import errors as e
from bff.graphql.schema.types.common import Provider
from bff.graphql.schema.types.session import ChargingSession


@strawberry.interface(
    description=(
        "Why a driver's action did not happen. Every error member of a mutation's result "
        "implements it: `... on UserError { message }` handles error types added later."
    )
)
class UserError:
    message: str = strawberry.field(description="Safe to show the driver as it is.")


@strawberry.type
class NotFound(UserError):
    pass


@strawberry.type
class InvalidInput(UserError):
    field: str | None


@strawberry.type
class RateLimited(UserError):
    retry_after_seconds: int


@strawberry.type
class ProviderUnavailable(UserError):
    provider: Provider  # type: ignore[valid-type]


@strawberry.type
class NotSupported(UserError):
    pass


@strawberry.type
class ConnectorCoolingDown(UserError):
    retry_after_seconds: int


@strawberry.type
class ChargerNotRemoteCapable(UserError):
    pass


@strawberry.type
class ConnectorUnavailable(UserError):
    reason: str


@strawberry.type
class SessionNotStoppable(UserError):
    session: ChargingSession


@strawberry.type
class SessionNotAbandonable(UserError):
    pass


@strawberry.type
class PaymentNotRetryable(UserError):
    pass


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
