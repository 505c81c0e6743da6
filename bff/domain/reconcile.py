"""Reconciliation: which of two states of one session is the truth (pure functions).

Updates arrive late, twice, out of order or never (seed 001). The rules:

- The newest by ``observed_at`` (the provider's own timestamp) wins; an older update
  changes nothing, and so does an exact duplicate.
- The lifecycle never moves backwards, even on a newer update: STARTING < CHARGING,
  STOPPING, FAILED < STOPPED < COMPLETED < REFUNDED. CHARGING and STOPPING may swap (a stop
  ignored or failed); FAILED is soft (a later CHARGING/STOPPED/COMPLETED wins). A newer
  update whose status would go backwards still brings its ``provider_status`` and figures.
- COMPLETED, REFUNDED and the driver's ABANDONED are final for ``status``.
- A driver's action is not a provider fact: :func:`apply_driver_action` applies it at its
  own time, and any newer provider word wins over a driver's STOPPING.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from operator import attrgetter
from typing import Literal

from bff.domain.model import ChargingSession, SessionStatus

S = SessionStatus
DriverAction = Literal["abandon", "stop_requested"]

#: No provider update changes the status of a session in one of these.
FINAL = frozenset({S.COMPLETED, S.REFUNDED, S.ABANDONED})
#: The session no longer charges.
ENDED = frozenset({S.STOPPED, S.COMPLETED, S.REFUNDED, S.ABANDONED})
#: The provider has priced the session: its cost is no longer an estimate.
PRICED = frozenset({S.COMPLETED, S.REFUNDED})
#: Power flows (or may still flow) in these.
_LIVE_POWER = frozenset({S.CHARGING, S.STOPPING})

_RANK = {
    S.STARTING: 0,
    S.CHARGING: 1,
    S.STOPPING: 1,
    S.FAILED: 1,
    S.STOPPED: 2,
    S.COMPLETED: 3,
    S.REFUNDED: 4,
}


def can_move(current: SessionStatus, new: SessionStatus) -> bool:
    """Whether the lifecycle may go from ``current`` to ``new`` (given a newer update)."""
    if current == new:
        return True
    if current is S.ABANDONED:
        return False
    if new is S.ABANDONED:
        return current not in PRICED
    return _RANK[new] >= _RANK[current]


def reconcile(current: ChargingSession | None, incoming: ChargingSession) -> ChargingSession | None:
    """The new snapshot after ``incoming``, or None when nothing changes."""
    incoming = _with_estimate(incoming, priced=incoming.status in PRICED)
    if current is None:
        return incoming
    if incoming == current or incoming.observed_at < current.observed_at:
        return None
    if incoming.observed_at == current.observed_at and not _wins_tie(current, incoming):
        return None
    merged = _merge(current, incoming)
    return None if merged == current else merged


def is_material_change(old: ChargingSession | None, new: ChargingSession) -> bool:
    """Whether ``new`` differs from ``old`` in more than ``observed_at`` (worth publishing)."""
    return old is None or _material(old) != _material(new)


#: Every field of a session but ``observed_at``, read in one call (this runs for every
#: update of every live screen: comparing copies made with ``replace`` cost ~5 us).
_material = attrgetter(*(f.name for f in fields(ChargingSession) if f.name != "observed_at"))


def apply_driver_action(
    current: ChargingSession | None, action: DriverAction, at: datetime
) -> ChargingSession | None:
    """The snapshot after the driver's own action, or None when it changes nothing.

    The action takes effect at ``at`` (never before the state it acts on), so a provider
    update observed later wins over a driver's STOPPING; ABANDONED is final.
    """
    if current is None:
        return None
    when = max(current.observed_at, at)
    if action == "abandon":
        if current.status in ENDED:
            return None
        return replace(current, status=S.ABANDONED, observed_at=when, power_kw=None)
    if current.status is S.STOPPING and not current.stop_failed:
        return None
    if current.status not in (S.STARTING, S.CHARGING, S.STOPPING, S.FAILED):
        return None
    return replace(current, status=S.STOPPING, stop_failed=False, observed_at=when)


def _wins_tie(current: ChargingSession, incoming: ChargingSession) -> bool:
    """Two different states with one timestamp: the one further along wins, whatever
    order they arrive in, so every replica converges on the same snapshot."""

    def progress(s: ChargingSession) -> tuple[int, int, int]:
        rank = _RANK.get(s.status, 5)
        return (rank, s.energy.watt_hours if s.energy else -1, s.duration_seconds or -1)

    return progress(incoming) > progress(current)


def _merge(current: ChargingSession, incoming: ChargingSession) -> ChargingSession:
    moves = can_move(current.status, incoming.status)
    status = incoming.status if moves else current.status
    if status is S.FAILED:
        failure_reason = incoming.failure_reason or current.failure_reason
    else:
        failure_reason = incoming.failure_reason if moves else current.failure_reason
    ended_at = incoming.ended_at
    if status in ENDED and current.ended_at is not None:
        # The earliest word of an end wins: a provider that states no end time (roaming)
        # gives the moment it was seen ended, and a later poll must not move it.
        ended_at = min(ended_at, current.ended_at) if ended_at else current.ended_at
    merged = replace(
        incoming,
        status=status,
        charger_id=incoming.charger_id or current.charger_id,
        connector_id=incoming.connector_id or current.connector_id,
        charger_name=incoming.charger_name or current.charger_name,
        charger_city=incoming.charger_city or current.charger_city,
        started_at=incoming.started_at or current.started_at,
        created_at=incoming.created_at or current.created_at,
        ended_at=ended_at,
        duration_seconds=_first(incoming.duration_seconds, current.duration_seconds),
        energy=incoming.energy or current.energy,
        power_kw=_power(current, incoming, status),
        cost=incoming.cost or current.cost,
        payment=incoming.payment or current.payment,
        receipt_available=incoming.receipt_available or current.receipt_available,
        failure_reason=failure_reason,
        stop_failed=(incoming.stop_failed if moves else current.stop_failed)
        and status not in ENDED,
        charging_profile=incoming.charging_profile or current.charging_profile,
        extra={**current.extra, **incoming.extra},
    )
    return _with_estimate(merged, priced=incoming.status in PRICED or status in PRICED)


def _power(
    current: ChargingSession, incoming: ChargingSession, status: SessionStatus
) -> float | None:
    """The provider's power, else energy over time between the two snapshots."""
    if incoming.power_kw is not None or status not in _LIVE_POWER:
        return incoming.power_kw
    if incoming.energy is None:
        return current.power_kw
    if current.energy is None or current.status not in _LIVE_POWER:
        return None
    seconds = (incoming.observed_at - current.observed_at).total_seconds()
    delta_wh = incoming.energy.watt_hours - current.energy.watt_hours
    if seconds < 1 or delta_wh < 0:
        return current.power_kw
    return round(delta_wh * 3.6 / seconds, 2)  # Wh per second * 3600 / 1000 = kW


def _with_estimate(session: ChargingSession, *, priced: bool) -> ChargingSession:
    """A running cost is an estimate until the provider prices the session."""
    cost = session.cost
    if cost is None or cost.estimated is not priced:
        return session
    return replace(session, cost=replace(cost, estimated=not priced))


def _first(a: int | None, b: int | None) -> int | None:
    return a if a is not None else b
