"""Charging profiles: input validation and the record's JSON form."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from bff.domain.model import ChargingPeriod, ChargingProfile
from bff.errors import InvalidInput


def validate_profile(profile: ChargingProfile, now: datetime | None = None) -> None:
    """Raises InvalidInput naming the field; nothing is sent for an invalid profile."""
    now = now or datetime.now(UTC)
    if profile.max_charge_rate_kw is None and not profile.periods:
        raise InvalidInput("give maxChargeRateKw or periods", field="maxChargeRateKw")
    if profile.max_charge_rate_kw is not None and not profile.max_charge_rate_kw > 0:
        raise InvalidInput("maxChargeRateKw must be positive", field="maxChargeRateKw")
    if profile.max_charge_rate_kw is not None and profile.max_charge_rate_kw > 1000:
        raise InvalidInput("maxChargeRateKw is above 1000 kW", field="maxChargeRateKw")
    if profile.departure_time is not None:
        departure = profile.departure_time
        if departure.tzinfo is None:
            departure = departure.replace(tzinfo=UTC)
        if departure <= now:
            raise InvalidInput("departureTime is in the past", field="departureTime")
    if profile.periods:
        starts = [p.start_seconds for p in profile.periods]
        if starts[0] != 0 or any(b <= a for a, b in pairwise(starts)):
            raise InvalidInput(
                "periods must start at 0 and ascend strictly by startSeconds", field="periods"
            )
        if any(p.limit_watts <= 0 for p in profile.periods):
            raise InvalidInput("every period's limitWatts must be positive", field="periods")


def profile_to_record(p: ChargingProfile) -> dict[str, Any]:
    return {
        "max_charge_rate_kw": p.max_charge_rate_kw,
        "departure_time": p.departure_time.isoformat() if p.departure_time else None,
        "periods": [[x.start_seconds, x.limit_watts] for x in p.periods],
    }


def profile_from_record(d: dict[str, Any]) -> ChargingProfile:
    departure = d.get("departure_time")
    rate = d.get("max_charge_rate_kw")
    return ChargingProfile(
        max_charge_rate_kw=float(rate) if rate is not None else None,
        departure_time=datetime.fromisoformat(departure) if isinstance(departure, str) else None,
        periods=tuple(ChargingPeriod(int(a), int(b)) for a, b in d.get("periods", [])),
    )
