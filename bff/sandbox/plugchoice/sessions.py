"""Sandbox sessions: Plugchoice's lifecycle on the :class:`SandboxClock`, computed lazily.

A session stores only the instants of what happened (created, confirmed, stop asked);
:meth:`SimSession.advance` replays the transitions that are due, each stamped with the
instant it became due, so answers do not depend on how often anyone polls:

    created --confirm--> authorized --1 s--> starting --2 s--> charging --stop--> stopping
    stopping --3 s--> settling --5 s--> captured        (no energy: no_charge)
    created --10 min unconfirmed--> expired (the token then answers 404)
    starting --charger rejects--> failed;  created/authorized/starting --cancel--> abandoned

Durations are simulated seconds; the clock's speed shortens them in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from bff.sandbox.common import SandboxClock
from bff.sandbox.plugchoice.fixtures import SimCharger, SimConnector

EXPIRE_AFTER = 600.0
TO_STARTING = 1.0
TO_CHARGING = 2.0
TO_SETTLING = 3.0
TO_CAPTURED = 5.0
VAT_PERCENT = 21

#: Words in which a session holds its connector (a new start there answers 409).
ON_CONNECTOR = frozenset({"authorized", "starting", "charging", "stopping"})
#: Words from which cancel is allowed.
CANCELLABLE = frozenset({"created", "authorized", "starting"})
#: Words whose token answers 404.
GONE = frozenset({"expired"})

EXPIRED_REASON = "The payment was not confirmed in time."
REJECTED_REASON = "The charger rejected the start request."
IN_USE_REASON = "The connector was taken by another session."
NO_CHARGE_REASON = "The session ended without delivering energy."
CANCELLED_REASON = "Cancelled by the driver."
_MILLI = Decimal("0.001")


def stamp(at: datetime | None) -> str | None:
    """Laravel's timestamp format: microseconds and ``Z``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at else None


def vat_included(amount: int) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half up in minor units."""
    return int((Decimal(amount) * VAT_PERCENT / (100 + VAT_PERCENT)).quantize(1, ROUND_HALF_UP))


@dataclass
class SimSession:
    clock: SandboxClock
    token: str
    charger: SimCharger
    connector: SimConnector
    email: str | None
    created_at: datetime
    client_secret: str
    amount_authorized: int
    status: str = "created"
    failure_reason: str | None = None
    authorized_at: datetime | None = None
    starting_at: datetime | None = None
    charging_started_at: datetime | None = None
    stop_requested_at: datetime | None = None
    completed_at: datetime | None = None
    captured_at: datetime | None = None
    amount_captured: int | None = None
    tax_amount: int | None = None
    blocked_reason: str | None = None  # set at confirm when the connector was taken
    fixed_energy_kwh: Decimal | None = None  # seeded history: not derived from the clock
    pinned: bool = False  # a word set through /_control: the clock no longer moves it

    def advance(self) -> None:
        """Apply every transition that is due by now."""
        now = self.clock.now()
        while not self.pinned:
            due = self._next_due()
            if due is None or due > now:
                return
            self._transition(due)

    def _next_due(self) -> datetime | None:
        def after(t: datetime | None, sim_seconds: float) -> datetime | None:
            return t + timedelta(seconds=self.clock.real_seconds(sim_seconds)) if t else None

        return {
            "created": after(self.created_at, EXPIRE_AFTER),
            "authorized": after(self.authorized_at, TO_STARTING),
            "starting": after(self.starting_at, TO_CHARGING),
            "stopping": after(self.stop_requested_at, TO_SETTLING),
            "settling": after(self.completed_at, TO_CAPTURED),
        }.get(self.status)

    def _transition(self, at: datetime) -> None:
        if self.status == "created":
            self.status, self.failure_reason = "expired", EXPIRED_REASON
        elif self.status == "authorized":
            self.status, self.starting_at = "starting", at
        elif self.status == "starting":
            reason = REJECTED_REASON if self.connector.rejects_start else self.blocked_reason
            if reason:
                self.status, self.failure_reason = "failed", reason
            else:
                self.status, self.charging_started_at = "charging", at
        elif self.status == "stopping":
            self.status, self.completed_at = "settling", at
        elif self.status == "settling":
            self.settle(at)

    def settle(self, at: datetime) -> None:
        """Capture the final cost, or release the hold when no energy flowed."""
        energy = self.energy_kwh()
        if not energy:
            self.status, self.failure_reason = "no_charge", NO_CHARGE_REASON
            return
        self.status, self.captured_at = "captured", at
        self.amount_captured = self.cost_amount() or 0
        self.tax_amount = vat_included(self.amount_captured)

    def energy_kwh(self) -> Decimal | None:
        """Energy at the connector's power since charging began, until the stop."""
        if self.fixed_energy_kwh is not None:
            return self.fixed_energy_kwh
        if self.charging_started_at is None:
            return None
        end = self.stop_requested_at or self.clock.now()
        sim_hours = (end - self.charging_started_at).total_seconds() * self.clock.speed / 3600
        kwh = Decimal(str(self.connector.delivered_kw)) * Decimal(str(max(sim_hours, 0.0)))
        return kwh.quantize(_MILLI, ROUND_DOWN)

    def cost_amount(self) -> int | None:
        """Start fee plus energy at the kWh price, capped at the authorized amount."""
        if self.status == "no_charge":
            return 0
        energy = self.energy_kwh()
        if energy is None:
            return None
        cost = self.charger.start_fee + int(
            (energy * self.charger.price_per_kwh).quantize(1, ROUND_HALF_UP)
        )
        return min(cost, self.amount_authorized)

    def connector_word(self) -> str | None:
        """The OCPP status this session gives its connector, or None when it holds none."""
        if self.status in ("authorized", "starting"):
            return "Preparing"
        if self.status == "charging":
            return "Charging" if self.connector.delivered_kw > 0 else "SuspendedEV"
        if self.status == "stopping":
            return "Finishing"
        return None

    def to_json(self, connector_status: str | None) -> dict[str, Any]:
        energy = self.energy_kwh()
        return {
            "status": self.status,
            "failure_reason": self.failure_reason,
            "connector_id": self.connector.connector_id,
            "connector_status": connector_status,
            "charger": {
                "public_code": self.charger.public_code,
                "name": self.charger.name,
                "online": self.charger.online,
            },
            "pricing": self.charger.pricing_json(),
            "amount_authorized": self.amount_authorized,
            "energy_kwh": str(energy) if energy is not None else None,
            "cost_amount": self.cost_amount(),
            "amount_captured": self.amount_captured,
            "tax_amount": self.tax_amount,
            "driver_email": self.email,
            "created_at": stamp(self.created_at),
            "authorized_at": stamp(self.authorized_at),
            "charging_started_at": stamp(self.charging_started_at),
            "completed_at": stamp(self.completed_at),
            "captured_at": stamp(self.captured_at),
        }

    def payment_json(self, publishable_key: str, account: str) -> dict[str, str] | None:
        """The Stripe context: only while the pre-authorization awaits the driver."""
        if self.status != "created":
            return None
        return {
            "client_secret": self.client_secret,
            "publishable_key": publishable_key,
            "stripe_account_id": account,
        }

    def force(self, word: str, at: datetime, failure_reason: str | None) -> None:
        """Put the session in ``word`` now (any word, even unknown ones) and pin it there."""
        if self.charging_started_at is not None and self.stop_requested_at is None:
            self.stop_requested_at = at
        if word in ("captured", "refunded", "requires_review", "capture_failed", "written_off"):
            self.completed_at = self.completed_at or at
        if word in ("captured", "refunded") and self.amount_captured is None:
            self.captured_at = at
            self.amount_captured = self.cost_amount() or 0
            self.tax_amount = vat_included(self.amount_captured)
        self.status, self.pinned = word, True
        if failure_reason is not None:
            self.failure_reason = failure_reason
