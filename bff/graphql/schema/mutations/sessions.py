"""The driver's session mutations (contract: StartSession ... ClearChargingProfile)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry

from bff import errors as e
from bff.domain import model
from bff.domain.model import PaymentStatus
from bff.errors import BFFError
from bff.graphql.schema.context import Info
from bff.graphql.schema.mutations.errors import (
    ChargerNotRemoteCapable,
    ConnectorCoolingDown,
    ConnectorUnavailable,
    InvalidInput,
    NotFound,
    NotSupported,
    PaymentNotRetryable,
    ProviderUnavailable,
    RateLimited,
    SessionNotAbandonable,
    SessionNotStoppable,
    Typed,
    typed_error,
)
from bff.graphql.schema.types.common import Money
from bff.graphql.schema.types.session import ChargingSession
from bff.resources import Resources
from bff.usecases import actions
from bff.usecases.sessions import OwnedSession
from bff.usecases.start import start_session

T = TypeVar("T")


@strawberry.input
class StartSessionInput:
    connector_id: strawberry.ID
    idempotency_key: str | None = None
    battery_target_kwh: float | None = None
    email: str | None = None


@strawberry.input
class ChargingPeriodInput:
    start_seconds: int
    limit_watts: int


@strawberry.input
class SetChargingProfileInput:
    session_id: strawberry.ID
    max_charge_rate_kw: float | None = None
    departure_time: datetime | None = None
    periods: list[ChargingPeriodInput] | None = None


@strawberry.type
class StartSessionSuccess:
    session: ChargingSession


@strawberry.type
class PaymentRequired:
    session: ChargingSession
    client_secret: str
    publishable_key: str | None
    amount_authorized: Money | None


@strawberry.type
class StopSessionSuccess:
    session: ChargingSession


@strawberry.type
class AbandonSessionSuccess:
    session: ChargingSession


@strawberry.type
class ConfirmPaymentSuccess:
    session: ChargingSession


@strawberry.type
class RetryPaymentSuccess:
    session: ChargingSession


@strawberry.type
class SetChargingProfileSuccess:
    session: ChargingSession


@strawberry.type
class ClearChargingProfileSuccess:
    session: ChargingSession


StartSessionResult = Annotated[
    StartSessionSuccess
    | PaymentRequired
    | ConnectorCoolingDown
    | ChargerNotRemoteCapable
    | ConnectorUnavailable
    | NotFound
    | InvalidInput
    | RateLimited
    | ProviderUnavailable,
    strawberry.union("StartSessionResult"),
]
StopSessionResult = Annotated[
    StopSessionSuccess
    | SessionNotStoppable
    | NotFound
    | InvalidInput
    | RateLimited
    | ProviderUnavailable,
    strawberry.union("StopSessionResult"),
]
AbandonSessionResult = Annotated[
    AbandonSessionSuccess | SessionNotAbandonable | NotFound | InvalidInput | RateLimited,
    strawberry.union("AbandonSessionResult"),
]
ConfirmPaymentResult = Annotated[
    ConfirmPaymentSuccess
    | RateLimited
    | NotFound
    | NotSupported
    | InvalidInput
    | ProviderUnavailable,
    strawberry.union("ConfirmPaymentResult"),
]
RetryPaymentResult = Annotated[
    RetryPaymentSuccess
    | PaymentNotRetryable
    | NotFound
    | InvalidInput
    | RateLimited
    | ProviderUnavailable,
    strawberry.union("RetryPaymentResult"),
]
SetChargingProfileResult = Annotated[
    SetChargingProfileSuccess
    | NotSupported
    | InvalidInput
    | NotFound
    | RateLimited
    | ProviderUnavailable,
    strawberry.union("SetChargingProfileResult"),
]
ClearChargingProfileResult = Annotated[
    ClearChargingProfileSuccess
    | NotSupported
    | NotFound
    | InvalidInput
    | RateLimited
    | ProviderUnavailable,
    strawberry.union("ClearChargingProfileResult"),
]


Action = Callable[[Resources, str, str], Awaitable[OwnedSession]]


async def _on_session(
    info: Info, id: strawberry.ID, action: Action, success: Callable[[ChargingSession], T]
) -> T | Typed:
    """Run a driver action on one session; a use case's error becomes its typed union member."""
    driver = info.context.driver_id()
    try:
        owned = await action(info.context.resources, driver, str(id))
    except BFFError as exc:
        return typed_error(exc)
    return success(_view(info, owned))


def _view(info: Info, owned: OwnedSession) -> ChargingSession:
    ctx = info.context
    return ChargingSession.of(owned, ctx.loaders, ctx.resources.settings.start_timeout_seconds)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Start a session on a connector, from any provider.")
    async def start_session(self, info: Info, input: StartSessionInput) -> StartSessionResult:
        ctx = info.context
        driver = ctx.driver_id()
        try:
            owned = await start_session(
                ctx.resources,
                driver,
                str(input.connector_id),
                input.idempotency_key,
                input.battery_target_kwh,
                input.email,
            )
        except BFFError as exc:
            return typed_error(exc)  # type: ignore[return-value]
        payment = owned.session.payment
        if payment and payment.status is PaymentStatus.REQUIRES_ACTION and payment.client_secret:
            return PaymentRequired(
                session=_view(info, owned),
                client_secret=payment.client_secret,
                publishable_key=payment.publishable_key,
                amount_authorized=Money.of(payment.authorized),
            )
        return StartSessionSuccess(session=_view(info, owned))

    @strawberry.mutation
    async def stop_session(self, info: Info, id: strawberry.ID) -> StopSessionResult:
        driver = info.context.driver_id()
        try:
            owned = await actions.stop_session(info.context.resources, driver, str(id))
        except e.SessionNotStoppable as exc:
            assert isinstance(exc.owned, OwnedSession)
            return SessionNotStoppable(message=exc.message, session=_view(info, exc.owned))
        except BFFError as exc:
            return typed_error(exc)  # type: ignore[return-value]
        return StopSessionSuccess(session=_view(info, owned))

    @strawberry.mutation(description="Leave a session that never started or never stopped.")
    async def abandon_session(self, info: Info, id: strawberry.ID) -> AbandonSessionResult:
        return await _on_session(  # type: ignore[return-value]
            info, id, actions.abandon_session, lambda s: AbandonSessionSuccess(session=s)
        )

    @strawberry.mutation(description="After the app's card step (pre-authorization providers).")
    async def confirm_payment(self, info: Info, id: strawberry.ID) -> ConfirmPaymentResult:
        return await _on_session(  # type: ignore[return-value]
            info, id, actions.confirm_payment, lambda s: ConfirmPaymentSuccess(session=s)
        )

    @strawberry.mutation
    async def retry_payment(self, info: Info, id: strawberry.ID) -> RetryPaymentResult:
        return await _on_session(  # type: ignore[return-value]
            info, id, actions.retry_payment, lambda s: RetryPaymentSuccess(session=s)
        )

    @strawberry.mutation(description="Smart charging: a power cap, a departure time or periods.")
    async def set_charging_profile(
        self, info: Info, input: SetChargingProfileInput
    ) -> SetChargingProfileResult:
        driver = info.context.driver_id()
        profile = model.ChargingProfile(
            max_charge_rate_kw=input.max_charge_rate_kw,
            departure_time=input.departure_time,
            periods=tuple(
                model.ChargingPeriod(p.start_seconds, p.limit_watts) for p in input.periods or []
            ),
        )
        try:
            owned = await actions.set_charging_profile(
                info.context.resources, driver, str(input.session_id), profile
            )
        except BFFError as exc:
            return typed_error(exc)  # type: ignore[return-value]
        return SetChargingProfileSuccess(session=_view(info, owned))

    @strawberry.mutation
    async def clear_charging_profile(
        self, info: Info, id: strawberry.ID
    ) -> ClearChargingProfileResult:
        async def clear(resources: Resources, driver: str, session_id: str) -> OwnedSession:
            return await actions.set_charging_profile(resources, driver, session_id, None)

        return await _on_session(  # type: ignore[return-value]
            info, id, clear, lambda s: ClearChargingProfileSuccess(session=s)
        )
