"""Chargers near a point, merged across providers by distance with stable cursors."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

from bff.domain.model import Charger, GeoPoint, Provider
from bff.errors import InvalidInput
from bff.resources import Resources
from bff.usecases.partial import ProviderFailures, gather_providers

EARTH_RADIUS_M = 6_371_008.8
MAX_RADIUS_M = 50_000
SEARCH_LIMIT = 300


def distance_meters(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle (haversine) distance."""
    la1, la2 = math.radians(a.latitude), math.radians(b.latitude)
    dla = la2 - la1
    dlo = math.radians(b.longitude - a.longitude)
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class NearbyCharger:
    charger: Charger
    distance_meters: int
    cursor: str


@dataclass(frozen=True, slots=True)
class ChargerPage:
    items: list[NearbyCharger]
    has_next_page: bool


def _sort_key(c: NearbyCharger | tuple[int, str, str]) -> tuple[int, str, str]:
    if isinstance(c, NearbyCharger):
        return (c.distance_meters, c.charger.provider.value, c.charger.id)
    return c


def _encode_cursor(key: tuple[int, str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        d, p, i = json.loads(raw)
        if not (isinstance(d, int) and isinstance(p, str) and isinstance(i, str)):
            raise ValueError
        return (d, p, i)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput("after is not a valid cursor", field="after") from None


def validate_point(near: GeoPoint) -> None:
    if not (-90 <= near.latitude <= 90) or not math.isfinite(near.latitude):
        raise InvalidInput("latitude must be between -90 and 90", field="near.latitude")
    if not (-180 <= near.longitude <= 180) or not math.isfinite(near.longitude):
        raise InvalidInput("longitude must be between -180 and 180", field="near.longitude")


async def nearby_chargers(
    resources: Resources,
    near: GeoPoint,
    radius_meters: int,
    first: int,
    after: str | None,
    failures: ProviderFailures,
    providers: set[Provider] | None = None,
) -> ChargerPage:
    validate_point(near)
    if radius_meters <= 0 or radius_meters > MAX_RADIUS_M:
        raise InvalidInput(
            f"radiusMeters must be between 1 and {MAX_RADIUS_M}", field="radiusMeters"
        )
    start_after = _decode_cursor(after) if after else None
    adapters = {p: a for p, a in resources.adapters.items() if providers is None or p in providers}
    timeouts = {p: resources.settings.provider_timeout(p.value) for p in resources.adapters}
    found = await gather_providers(
        {
            p: (lambda a=a: a.search_chargers(near, radius_meters, SEARCH_LIMIT))  # type: ignore[misc]
            for p, a in adapters.items()
        },
        failures,
        timeouts,
    )
    items: list[NearbyCharger] = []
    for chargers in found.values():
        for c in chargers:
            d = round(distance_meters(near, c.location))
            if d > radius_meters:
                continue
            key = (d, c.provider.value, c.id)
            items.append(NearbyCharger(c, d, _encode_cursor(key)))
    items.sort(key=_sort_key)
    if start_after is not None:
        items = [i for i in items if _sort_key(i) > start_after]
    return ChargerPage(items[:first], has_next_page=len(items) > first)
