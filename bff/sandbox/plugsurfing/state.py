"""The simulated sessions and their lifecycle on the sandbox clock.

CREATED -> WAITING_TO_START -> STARTED -> (stop) WAITING_TO_STOP -> STOPPED -> COMPLETE,
with the error EVSEs' detours. Step lengths are simulated seconds (``config.speed`` per
real second) and energy rises at the connector's power over simulated time while the car
charges (STARTED, WAITING_TO_STOP, STOP_FAILED). Timestamps, and so the reported
``duration``, stay real UTC: at high speeds a session shows much energy in few seconds,
but nothing ever lies in the future.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bff.sandbox.common import SandboxClock
from bff.sandbox.plugsurfing.fixtures import (
    CURRENCY,
    VAT_PERCENT,
    Behaviour,
    FxConnector,
    FxEvse,
    FxLocation,
)
from bff.sandbox.plugsurfing.wire import EVENT_FOR_STATUS

# Simulated seconds each automatic step takes.
CREATED_S = 0.5
WAITING_TO_START_S = 3.0
WAITING_TO_STOP_S = 3.0
STOPPED_TO_COMPLETE_S = 10.0
THREE_DS_TIMEOUT_S = 120.0
CONNECTOR_BLOCK_S = 60.0

CHARGING = frozenset({"STARTED", "WAITING_TO_STOP", "STOP_FAILED"})
LIVE = CHARGING | {"CREATED", "WAITING_TO_START"}
ENDED = frozenset({"STOPPED", "COMPLETE", "REFUNDED"})


@dataclass(frozen=True)
class Event:
    name: str
    user_id: str
    session_id: str
    at: datetime


@dataclass
class SimSession:
    id: str
    user_id: str
    location: FxLocation
    evse: FxEvse
    connector: FxConnector
    start_time: datetime
    status: str = "CREATED"
    status_at: datetime = field(init=False)
    key_type: str = "virtual"
    started: bool = False  # reached STARTED at least once
    energy_wh: float = 0.0
    energy_at: datetime | None = None
    end_time: datetime | None = None
    price_minor: int | None = None  # final, incl. VAT; None until COMPLETE
    balance_status: str | None = None
    balance_minor: int | None = None
    transactions: list[dict[str, object]] = field(default_factory=list)
    client_secret: str | None = None  # a 3-D Secure attempt

    def __post_init__(self) -> None:
        self.status_at = self.start_time

    def running_price_minor(self) -> int:
        if self.price_minor is not None:
            return self.price_minor
        return price_for(round(self.energy_wh), self.evse.price_per_kwh_minor)


def price_for(energy_wh: int, per_kwh_minor: int) -> int:
    total = Decimal(energy_wh) * per_kwh_minor / 1000
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def excl_vat(incl_minor: int) -> int:
    excl = Decimal(incl_minor) * 100 / (100 + VAT_PERCENT)
    return int(excl.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def amount(incl_minor: int) -> dict[str, object]:
    return {
        "currencyCode": CURRENCY,
        "minorExclVat": excl_vat(incl_minor),
        "minorInclVat": incl_minor,
        "vat": str(VAT_PERCENT),
    }


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SessionStore:
    """All sessions, the connector blocks and the 3-D Secure state; no I/O."""

    def __init__(self, clock: SandboxClock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.sessions: dict[str, SimSession] = {}
        self.blocked_until: dict[str, datetime] = {}  # connector id -> real time
        self.verified_3ds: set[str] = set()

    def reset(self) -> None:
        self.sessions.clear()
        self.blocked_until.clear()
        self.verified_3ds.clear()

    def new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            sid = "".join(self.rng.choice(alphabet) for _ in range(11))
            if sid not in self.sessions:
                return sid

    def later(self, t: datetime, sim_seconds: float) -> datetime:
        return t + timedelta(seconds=self.clock.real_seconds(sim_seconds))

    def create(
        self, user_id: str, loc: FxLocation, evse: FxEvse, conn: FxConnector, now: datetime
    ) -> SimSession:
        s = SimSession(self.new_id(), user_id, loc, evse, conn, start_time=now)
        self.sessions[s.id] = s
        return s

    def of_user(self, user_id: str, session_id: str) -> SimSession | None:
        s = self.sessions.get(session_id)
        return s if s is not None and s.user_id == user_id else None

    def busy_connectors(self) -> set[str]:
        return {
            s.connector.id
            for s in self.sessions.values()
            if s.status in LIVE and s.client_secret is None  # 3DS attempts never reach it
        }

    def charging_at(self, evse: FxEvse) -> bool:
        """A session charges a car at ``evse`` (one car at a time, whichever connector);
        one still waiting to start does not hold it (seed 001: allow another start)."""
        return any(
            s.evse.evse_id == evse.evse_id and s.status in CHARGING
            for s in self.sessions.values()
        )

    def _next(self, s: SimSession) -> tuple[float, str] | None:
        """(simulated seconds after ``status_at``, next status) of the automatic step."""
        b = s.evse.behaviour
        if s.status == "CREATED":
            if s.client_secret is not None:
                return THREE_DS_TIMEOUT_S, "FAILED"
            return CREATED_S, "WAITING_TO_START"
        if s.status == "WAITING_TO_START":
            if b is Behaviour.START_HANGS:
                return None
            return WAITING_TO_START_S, "FAILED" if b is Behaviour.START_FAILS else "STARTED"
        if s.status == "WAITING_TO_STOP":
            return WAITING_TO_STOP_S, "STOP_FAILED" if b is Behaviour.STOP_FAILS else "STOPPED"
        if s.status == "STOPPED":
            return STOPPED_TO_COMPLETE_S, "COMPLETE"
        return None

    def advance(self, now: datetime) -> list[Event]:
        """Every automatic step due by ``now``, in order; the webhooks to send."""
        events: list[Event] = []
        for s in list(self.sessions.values()):
            while (step := self._next(s)) is not None:
                at = self.later(s.status_at, step[0])
                if at > now:
                    break
                events.extend(self.enter(s, step[1], at))
            self._accrue(s, now)
        return events

    def _accrue(self, s: SimSession, until: datetime) -> None:
        if s.status in CHARGING and s.energy_at is not None and until > s.energy_at:
            sim_hours = (until - s.energy_at).total_seconds() * self.clock.speed / 3600
            s.energy_wh += s.connector.max_power_kw * 1000 * sim_hours
        s.energy_at = until

    def enter(self, s: SimSession, status: str, at: datetime) -> list[Event]:
        self._accrue(s, at)
        s.status, s.status_at = status, at
        if status == "STARTED":
            s.started = True
        elif status == "STOPPED":
            s.end_time = at
        elif status == "COMPLETE":
            self._price(s, at)
        name = EVENT_FOR_STATUS.get(status)
        return [Event(name, s.user_id, s.id, at)] if name else []

    def _price(self, s: SimSession, at: datetime) -> None:
        s.price_minor = price_for(round(s.energy_wh), s.evse.price_per_kwh_minor)
        if s.user_id.startswith("debt"):
            s.balance_status, s.balance_minor = "DEBT", -s.price_minor
        else:
            s.balance_status, s.balance_minor = "PAID", 0
            s.transactions.append(charge(s.price_minor, at))


def charge(incl_minor: int, at: datetime, outcome: str = "CHARGE") -> dict[str, object]:
    return {
        "paymentMethod": "CREDIT_CARD",
        "paymentOutcome": outcome,
        "amount": amount(incl_minor),
        "time": iso(at),
    }
