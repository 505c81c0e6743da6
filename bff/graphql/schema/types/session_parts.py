"""What hangs off a charging session: its payment, charging profile and receipt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar, cast

import strawberry

from bff.domain import model
from bff.graphql.schema.loaders import Loaders
from bff.graphql.schema.types.common import (
    Cost,
    Energy,
    Money,
    PaymentStatus,
)
from bff.usecases import receipts

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


@strawberry.type(
    description="A session's receipt, the same for every provider: its data, and `url`, "
    "where it opens."
)
class Receipt:
    available: bool
    _key: strawberry.Private[tuple[model.Provider, str, str]]  # provider, session, driver
    _loaders: strawberry.Private[Loaders]
    _session: strawberry.Private[model.ChargingSession]
    #: One instant for the whole receipt: ``url`` and ``expiresAt`` name the same link.
    _now: strawberry.Private[datetime]

    # Synchronous resolvers that answer an awaitable only when the provider must be asked
    # (graphql-core awaits what a resolver returns): a session without a receipt (every
    # live one) then costs graphql-core no coroutine, task or gather.

    async def _load(self) -> model.Receipt:
        loaded = await self._loaders.receipt_by_session.load(self._key)
        # The session says there is one: a provider that failed to answer (its error is
        # reported) or lags still gets the BFF's link, whose page asks again.
        r = replace(loaded, available=True) if loaded else model.Receipt(available=True)
        settings = self._loaders.resources.settings
        return receipts.with_link(r, self._session, self._key[2], settings, self._now)

    @strawberry.field(
        description="Where the receipt opens, set whenever `available`: the provider's "
        "document (Plugsurfing's PDF), else the BFF's own (HTML from the provider's data) "
        "at a signed link for this driver. Valid until `expiresAt`; ask again after it."
    )
    def url(self) -> str | None:
        return self._from_receipt(lambda r: r.url)

    @strawberry.field
    def expires_at(self) -> datetime | None:
        return self._from_receipt(lambda r: r.expires_at)

    @strawberry.field(description="The charging network, where the provider names one.")
    def network(self) -> str | None:
        return self._from_receipt(lambda r: r.network)

    @strawberry.field
    def charger_name(self) -> str | None:
        return self._from_receipt(lambda r: r.charger_name)

    @strawberry.field(description="The EVSE's eMI3 id, where the provider has one.")
    def evse_id(self) -> str | None:
        return self._from_receipt(lambda r: r.evse_id)

    @strawberry.field
    def energy(self) -> Energy | None:
        return self._from_receipt(
            lambda r: Energy(watt_hours=r.energy.watt_hours) if r.energy else None
        )

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self._from_receipt(lambda r: r.started_at)

    @strawberry.field
    def ended_at(self) -> datetime | None:
        return self._from_receipt(lambda r: r.ended_at)

    @strawberry.field(description="Seconds from `startedAt` to `endedAt`.")
    def duration_seconds(self) -> int | None:
        return self._from_receipt(lambda r: r.duration_seconds)

    @strawberry.field
    def payment_status(self) -> PaymentStatus | None:  # type: ignore[valid-type]
        return self._from_receipt(lambda r: r.payment_status)

    @strawberry.field(
        description="Where the provider e-mailed a copy (Plugchoice, to the address given "
        "at the start); null when it sent none."
    )
    def emailed_to(self) -> str | None:
        return self._from_receipt(lambda r: r.emailed_to)

    def _from_receipt(self, pick: Callable[[model.Receipt], T | None]) -> T | None:
        """``pick`` of the receipt, loaded only when there is one."""
        if not self.available:
            return None
        return later(self._picked(pick))

    async def _picked(self, pick: Callable[[model.Receipt], T | None]) -> T | None:
        return pick(await self._load())

    @strawberry.field
    def cost(self) -> Cost | None:
        if not self.available:
            return Cost.of(self._session.cost)
        return later(self._cost())

    async def _cost(self) -> Cost | None:
        return Cost.of((await self._load()).cost)


def later(awaitable: Awaitable[T]) -> T:
    """What a synchronous resolver returns when its value needs a wait: graphql-core
    awaits it. Typed as the value, so that the resolver keeps its GraphQL return type."""
    return cast(T, awaitable)
