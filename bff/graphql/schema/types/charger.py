"""Charger and Connector."""

from __future__ import annotations

from collections import OrderedDict

import strawberry

from bff import ids
from bff.domain import model
from bff.graphql.schema.types.common import ChargerStatus, GeoPoint, Money, Node, PageInfo, Provider


@strawberry.type(
    description="A charger's prices, VAT included. A fee it does not charge is null, never "
    "a zero amount, for every provider."
)
class Tariff:
    price_per_kwh: Money | None
    start_fee: Money | None
    per_minute: Money | None


@strawberry.type
class Connector(Node):
    id: strawberry.ID
    label: str = strawberry.field(
        description='The connector\'s number at the charger ("1", "2"), the same form for '
        "every provider; its plug is `standard`."
    )
    standard: str
    power_kw: float
    status: ChargerStatus  # type: ignore[valid-type]

    @classmethod
    def of(cls, charger: model.Charger, c: model.Connector) -> Connector:
        return cls(
            id=strawberry.ID(ids.encode(ids.CONNECTOR, charger.provider, charger.id, c.id)),
            label=c.label,
            standard=c.standard,
            power_kw=c.power_kw,
            status=c.status,
        )


@strawberry.type
class Charger(Node):
    id: strawberry.ID
    provider: Provider  # type: ignore[valid-type]
    evse_id: str | None
    name: str
    site: str | None
    city: str | None
    street: str | None
    location: GeoPoint
    status: ChargerStatus  # type: ignore[valid-type]
    remote_start_stop: bool
    smart_charging: bool
    connectors: list[Connector]
    tariff: Tariff | None
    distance_meters: int | None = strawberry.field(
        default=None, description="From the point searched around, where there was one."
    )

    @classmethod
    def of(cls, c: model.Charger, distance_meters: int | None = None) -> Charger:
        if distance_meters is not None:
            return cls._build(c, distance_meters)
        # The same domain charger (held by the charger cache) gives the same object: it
        # is only read, and building it (money, connectors, ids) costs more than that.
        entry = _BUILT.get(id(c))
        if entry is not None and entry[0] is c:
            return entry[1]
        built = cls._build(c, None)
        _BUILT[id(c)] = (c, built)
        if len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
        return built

    @classmethod
    def _build(cls, c: model.Charger, distance_meters: int | None) -> Charger:
        tariff = (
            Tariff(
                price_per_kwh=Money.of(c.tariff.price_per_kwh),
                start_fee=Money.of(c.tariff.start_fee),
                per_minute=Money.of(c.tariff.per_minute),
            )
            if c.tariff
            else None
        )
        return cls(
            id=strawberry.ID(ids.encode(ids.CHARGER, c.provider, c.id)),
            provider=c.provider,
            evse_id=c.evse_id,
            name=c.name,
            site=c.site,
            city=c.city,
            street=c.street,
            location=GeoPoint(latitude=c.location.latitude, longitude=c.location.longitude),
            status=c.status,
            remote_start_stop=c.remote_start_stop,
            smart_charging=c.smart_charging,
            connectors=[Connector.of(c, x) for x in c.connectors],
            tariff=tariff,
            distance_meters=distance_meters,
        )

    @classmethod
    def summary(
        cls, provider: model.Provider, charger_id: str, name: str, city: str | None
    ) -> Charger:
        """A charger known only by what a session says about it: for a selection of
        :data:`SUMMARY_FIELDS` only (a history page), so no provider call is needed. The
        other fields hold placeholders that such a selection never reads."""
        return cls(
            id=strawberry.ID(ids.encode(ids.CHARGER, provider, charger_id)),
            provider=provider,
            evse_id=None,
            name=name,
            site=None,
            city=city,
            street=None,
            location=GeoPoint(latitude=0.0, longitude=0.0),
            status=model.ChargerStatus.UNKNOWN,
            remote_start_stop=False,
            smart_charging=False,
            connectors=[],
            tariff=None,
        )


#: Chargers built by ``Charger.of``, by the identity of the domain charger (kept with it,
#: so that the id is not reused while the entry lives); oldest out first.
_BUILT: OrderedDict[int, tuple[model.Charger, Charger]] = OrderedDict()
_BUILT_MAX = 1024

#: Charger fields a session can answer from what it carries (see ``Charger.summary``).
SUMMARY_FIELDS = frozenset({"id", "provider", "name", "city", "__typename"})


@strawberry.type
class ChargerEdge:
    cursor: str
    node: Charger


@strawberry.type
class ChargerConnection:
    edges: list[ChargerEdge]
    page_info: PageInfo
