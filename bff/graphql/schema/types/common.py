"""Shared GraphQL types: enums, Money, Energy, Cost, Node, PageInfo, inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry

from bff.domain import model
from bff.domain.money import Money as DomainMoney

Provider = strawberry.enum(model.Provider, name="Provider")
SessionStatus = strawberry.enum(model.SessionStatus, name="SessionStatus")
PaymentStatus = strawberry.enum(model.PaymentStatus, name="PaymentStatus")
ChargerStatus = strawberry.enum(model.ChargerStatus, name="ChargerStatus")


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


@strawberry.type(description="An amount in the currency's minor units (ISO 4217 exponent).")
class Money:
    amount_minor: int
    currency: str
    exponent: int
    formatted: str = strawberry.field(description='e.g. "EUR 21.60"')

    @classmethod
    def of(cls, m: DomainMoney | None) -> Money | None:
        if m is None:
            return None
        return cls(
            amount_minor=m.amount_minor,
            currency=m.currency,
            exponent=m.exponent,
            formatted=m.formatted(),
        )


@strawberry.type
class Energy:
    watt_hours: int

    @strawberry.field
    def kilowatt_hours(self) -> float:
        return self.watt_hours / 1000


@strawberry.type
class Cost:
    total: Money
    excl_vat: Money | None
    vat_percent: float | None
    estimated: bool = strawberry.field(description="True until the provider prices the session.")

    @classmethod
    def of(cls, c: model.Cost | None) -> Cost | None:
        if c is None:
            return None
        total = Money.of(c.total)
        assert total is not None
        return cls(
            total=total,
            excl_vat=Money.of(c.excl_vat),
            vat_percent=float(c.vat_percent) if c.vat_percent is not None else None,
            estimated=c.estimated,
        )


@strawberry.type
class GeoPoint:
    latitude: float
    longitude: float


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.input
class GeoPointInput:
    latitude: float
    longitude: float


@strawberry.input
class SessionFilter:
    statuses: list[SessionStatus] | None = None  # type: ignore[valid-type]
    providers: list[Provider] | None = None  # type: ignore[valid-type]
    started_after: datetime | None = None
    started_before: datetime | None = None

    def to_domain(self) -> model.SessionFilter:
        return model.SessionFilter(
            statuses=frozenset(self.statuses) if self.statuses is not None else None,
            providers=frozenset(self.providers) if self.providers is not None else None,
            started_after=self.started_after,
            started_before=self.started_before,
        )
