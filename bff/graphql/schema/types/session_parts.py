"""What hangs off a charging session: its payment, charging profile and receipt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar, cast

import strawberry

from bff.domain import model
from bff.graphql.schema.loaders import Loaders
from bff.graphql.schema.types.common import (
    Cost,
    Money,
    PaymentStatus,
)

T = TypeVar("T")


@strawberry.type
class PaymentTransaction:
    method: str
    outcome: str
    amount: Money
    at: datetime | None


@strawberry.type
class Payment:
    status: PaymentStatus  # type: ignore[valid-type]
    outstanding: Money | None
    authorized: Money | None
    captured: Money | None
    transactions: list[PaymentTransaction]

    @classmethod
    def of(cls, p: model.Payment | None) -> Payment:
        p = p or model.Payment(status=model.PaymentStatus.NONE)
        return cls(
            status=p.status,
            outstanding=Money.of(p.outstanding),
            authorized=Money.of(p.authorized),
            captured=Money.of(p.captured),
            transactions=[
                PaymentTransaction(
                    method=t.method,
                    outcome=t.outcome,
                    amount=Money.of(t.amount),  # type: ignore[arg-type]
                    at=t.at,
                )
                for t in p.transactions
            ],
        )


@strawberry.type
class ChargingPeriod:
    start_seconds: int
    limit_watts: int


@strawberry.type
class ChargingProfile:
    max_charge_rate_kw: float | None
    departure_time: datetime | None
    periods: list[ChargingPeriod]

    @classmethod
    def of(cls, p: model.ChargingProfile | None) -> ChargingProfile | None:
        if p is None:
            return None
        return cls(
            max_charge_rate_kw=p.max_charge_rate_kw,
            departure_time=p.departure_time,
            periods=[
                ChargingPeriod(start_seconds=x.start_seconds, limit_watts=x.limit_watts)
                for x in p.periods
            ],
        )


@strawberry.type
class Receipt:
    available: bool
    _key: strawberry.Private[tuple[model.Provider, str, str]]
    _loaders: strawberry.Private[Loaders]
    _fallback_cost: strawberry.Private[model.Cost | None]

    # Synchronous resolvers that answer an awaitable only when the provider must be asked
    # (graphql-core awaits what a resolver returns): a session without a receipt (every
    # live one) then costs graphql-core no coroutine, task or gather.

    async def _load(self) -> model.Receipt | None:
        return await self._loaders.receipt_by_session.load(self._key)

    @strawberry.field(
        description="A signed URL to the receipt document, where the provider has one."
    )
    def url(self) -> str | None:
        return self._from_receipt(lambda r: r.url)

    @strawberry.field
    def expires_at(self) -> datetime | None:
        return self._from_receipt(lambda r: r.expires_at)

    def _from_receipt(self, pick: Callable[[model.Receipt], T | None]) -> T | None:
        """``pick`` of the provider's receipt, loaded only when there is one."""
        if not self.available:
            return None
        return later(self._picked(pick))

    async def _picked(self, pick: Callable[[model.Receipt], T | None]) -> T | None:
        r = await self._load()
        return pick(r) if r else None

    @strawberry.field
    def cost(self) -> Cost | None:
        if not self.available:
            return Cost.of(self._fallback_cost)
        return later(self._cost())

    async def _cost(self) -> Cost | None:
        r = await self._load()
        return Cost.of(r.cost if r and r.cost else self._fallback_cost)


def later(awaitable: Awaitable[T]) -> T:
    """What a synchronous resolver returns when its value needs a wait: graphql-core
    awaits it. Typed as the value, so that the resolver keeps its GraphQL return type."""
    return cast(T, awaitable)
