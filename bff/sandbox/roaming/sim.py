"""The session state machine of the roaming sandbox, on a :class:`SandboxClock`.

pending (~3 sim s) -> active (energy rises at min(connector power, profile cap)) ->
completed when the battery target is delivered; a stop goes active -> stopping (~3 sim s)
-> completed (the CDR: final cost, receipt available). An EVSE that fails to start goes
pending -> failed. Transition times are computed exactly, not at tick resolution, so
each status change carries its own distinct ``updated_at``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bff.sandbox.common import SandboxClock
from bff.sandbox.roaming.data import EVSES, UNSTARTABLE, SimEvse
from bff.sandbox.roaming.wire import ACTIVE, COMPLETED, FAILED, FINAL_WORDS, PENDING, STOPPING

PENDING_SIM_SECONDS = 3.0
STOPPING_SIM_SECONDS = 3.0


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class SimProfile:
    max_kw: float | None
    departure_time: datetime | None
    periods: list[tuple[int, int]]  # (start_period seconds, limit watts)
    set_at: datetime

    def cap_kw(self, sim_elapsed: float) -> float:
        cap = self.max_kw if self.max_kw is not None else math.inf
        current = [limit for start, limit in self.periods if start <= sim_elapsed]
        if current:
            cap = min(cap, current[-1] / 1000)
        return cap

    def to_json(self) -> dict[str, object]:
        return {
            "max_charge_rate_kw": self.max_kw,
            "departure_time": iso(self.departure_time) if self.departure_time else None,
            "periods": [{"start_period": s, "limit": w} for s, w in self.periods],
        }


@dataclass
class SimSession:
    id: str
    user: str
    evse: SimEvse
    connector_type: str
    connector_kw: float
    target_wh: float | None
    status: str
    created_at: datetime
    status_at: datetime  # when the current status began
    last: datetime  # energy is integrated up to here
    energy_wh: float = 0.0
    start_time: datetime | None = None
    ended_at: datetime | None = None
    final_duration_s: float | None = None
    profile: SimProfile | None = None
    history: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.status in FINAL_WORDS

    def energy_kwh(self) -> Decimal:
        return (Decimal(round(self.energy_wh)) / 1000).quantize(Decimal("0.001"))

    def cost(self) -> Decimal:
        return (self.evse.price_per_kwh * self.energy_kwh()).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    def duration_s(self, clock: SandboxClock, at: datetime) -> float:
        if self.final_duration_s is not None:
            return self.final_duration_s
        if self.start_time is None:
            return 0.0
        return max(0.0, (min(at, self.ended_at or at) - self.start_time).total_seconds()) * (
            clock.speed
        )

    def power_kw(self, clock: SandboxClock, at: datetime) -> float:
        if self.profile is None:
            return self.connector_kw
        elapsed = (at - self.profile.set_at).total_seconds() * clock.speed
        return max(0.0, min(self.connector_kw, self.profile.cap_kw(elapsed)))

    def status_object(self, clock: SandboxClock, at: datetime) -> dict[str, object]:
        return {
            "session_id": self.id,
            "status": self.status,
            "energy_kwh": float(self.energy_kwh()),
            "cost": float(self.cost()),
            "currency": self.evse.currency,
            "duration_minutes": int(self.duration_s(clock, at) // 60),
            "start_time": iso(self.start_time) if self.start_time else None,
        }


OnChange = Callable[[SimSession, datetime], None]


class Simulator:
    """All sandbox sessions; :meth:`advance` moves them to the clock's present."""

    def __init__(self, clock: SandboxClock, on_change: OnChange) -> None:
        self.clock = clock
        self.on_change = on_change
        self.sessions: dict[str, SimSession] = {}

    def live_on(self, evse_id: str) -> SimSession | None:
        return next(
            (s for s in self.sessions.values() if s.evse.evse_id == evse_id and not s.final), None
        )

    def evse_status(self, evse: SimEvse) -> str:
        if evse.status in UNSTARTABLE or self.live_on(evse.evse_id) is None:
            return evse.status
        return "CHARGING"

    def start(
        self, user: str, evse: SimEvse, standard: str, connector_kw: float, target_kwh: float | None
    ) -> SimSession:
        now = self.clock.now()
        s = SimSession(
            id=str(uuid.uuid4()),
            user=user,
            evse=evse,
            connector_type=standard,
            connector_kw=connector_kw,
            target_wh=target_kwh * 1000 if target_kwh is not None else None,
            status=PENDING,
            created_at=now,
            status_at=now,
            last=now,
        )
        self.sessions[s.id] = s
        self._set(s, PENDING, now)
        return s

    def stop(self, s: SimSession) -> None:
        """Stop a live session (``stopping`` stays stopping; callers refuse final ones)."""
        now = self.clock.now()
        self.advance_one(s, now)
        if s.status in (PENDING, ACTIVE):
            s.ended_at = now  # charging ends with the stop command
            self._set(s, STOPPING, now)

    def set_profile(self, s: SimSession, profile: SimProfile | None) -> None:
        # Integrate at the old power up to now before the new cap applies.
        self.advance_one(s, self.clock.now())
        s.profile = profile

    def advance(self) -> None:
        now = self.clock.now()
        for s in list(self.sessions.values()):
            self.advance_one(s, now)

    def advance_one(self, s: SimSession, now: datetime) -> None:
        if s.status == PENDING:
            ready = s.status_at + timedelta(seconds=self.clock.real_seconds(PENDING_SIM_SECONDS))
            if now < ready:
                return
            if s.evse.fails_to_start:
                self._finish(s, FAILED, ready)
                return
            s.start_time = s.last = ready
            self._set(s, ACTIVE, ready)
        if s.status == ACTIVE:
            done = self._charge(s, now)
            if done is not None:
                s.ended_at = done
                self._finish(s, COMPLETED, done)
        elif s.status == STOPPING:
            done = s.status_at + timedelta(seconds=self.clock.real_seconds(STOPPING_SIM_SECONDS))
            if now >= done:
                self._finish(s, COMPLETED, done)

    def _charge(self, s: SimSession, now: datetime) -> datetime | None:
        """Add the energy from ``s.last`` to ``now``; the moment the target is met, if so."""
        if now <= s.last:
            return None
        kw = s.power_kw(self.clock, s.last)
        delta_wh = kw * 1000 * (now - s.last).total_seconds() * self.clock.speed / 3600
        if s.target_wh is not None and kw > 0 and s.energy_wh + delta_wh >= s.target_wh:
            sim_s = (s.target_wh - s.energy_wh) / (kw * 1000) * 3600
            s.energy_wh = s.target_wh
            s.last = s.last + timedelta(seconds=self.clock.real_seconds(sim_s))
            return s.last
        s.energy_wh += delta_wh
        s.last = now
        return None

    def _finish(self, s: SimSession, word: str, at: datetime) -> None:
        s.ended_at = s.ended_at or at
        s.final_duration_s = s.duration_s(self.clock, at)
        self._set(s, word, at)

    def _set(self, s: SimSession, word: str, at: datetime) -> None:
        s.status, s.status_at = word, at
        s.history.append((word, at))
        self.on_change(s, at)

    def seed_live(self, user: str, count: int) -> list[SimSession]:
        """``count`` sessions of ``user`` charging from now on, no webhook sent."""
        startable = [e for e in EVSES if e.status not in UNSTARTABLE and not e.fails_to_start]
        now = self.clock.now()
        made = []
        for i in range(count):
            evse = startable[i % len(startable)]
            conn = evse.connectors[0]
            s = SimSession(
                id=str(uuid.uuid4()), user=user, evse=evse, connector_type=conn.standard,
                connector_kw=conn.power_w / 1000, target_wh=None, status=ACTIVE,
                created_at=now, status_at=now, last=now, start_time=now,
                history=[(PENDING, now), (ACTIVE, now)],
            )  # fmt: skip
            self.sessions[s.id] = s
            made.append(s)
        return made

    def seed_completed(self, user: str, count: int) -> list[SimSession]:
        """``count`` completed sessions of ``user`` over the past days, newest first."""
        startable = [e for e in EVSES if e.status not in UNSTARTABLE and not e.fails_to_start]
        now = self.clock.now()
        made = []
        for i in range(count):
            evse = startable[i % len(startable)]
            conn = evse.connectors[0]
            start = now - timedelta(days=i + 1, hours=i % 5)
            minutes = 20 + 5 * (i % 9)
            kwh = min(conn.power_w / 1000, 11.0) * minutes / 60
            end = start + timedelta(minutes=minutes)
            s = SimSession(
                id=str(uuid.uuid4()), user=user, evse=evse, connector_type=conn.standard,
                connector_kw=conn.power_w / 1000, target_wh=None, status=COMPLETED,
                created_at=start, status_at=end, last=end, energy_wh=round(kwh * 1000),
                start_time=start, ended_at=end, final_duration_s=minutes * 60.0,
                history=[(PENDING, start), (ACTIVE, start), (COMPLETED, end)],
            )  # fmt: skip
            self.sessions[s.id] = s
            made.append(s)
        return made
