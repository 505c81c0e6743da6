"""ChargingSession <-> JSON for snapshots in Redis and messages on pub/sub.

Pydantic lives here, at the edge; the rest of ``bff.live`` handles domain dataclasses.
Money is ``{amount_minor, currency}``, energy integer Wh, datetimes ISO 8601 in UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from bff.domain.model import (
    ChargingPeriod,
    ChargingProfile,
    ChargingSession,
    Cost,
    Energy,
    Payment,
    PaymentStatus,
    Provider,
    SessionStatus,
    Transaction,
)
from bff.domain.money import Money
from bff.store import keys
from bff.store.records import SessionRecord


def _utc(value: datetime) -> datetime:
    # A naive time from a careless mapper is taken as UTC rather than crashing a compare.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MoneyModel(_Model):
    amount_minor: int
    currency: str

    def domain(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @classmethod
    def of(cls, m: Money | None) -> MoneyModel | None:
        return None if m is None else cls(amount_minor=m.amount_minor, currency=m.currency)


def _money(m: MoneyModel | None) -> Money | None:
    return None if m is None else m.domain()


class CostModel(_Model):
    total: MoneyModel
    excl_vat: MoneyModel | None = None
    vat_percent: Decimal | None = None
    estimated: bool = False


class TransactionModel(_Model):
    method: str
    outcome: str
    amount: MoneyModel
    at: UtcDatetime | None = None


class PaymentModel(_Model):
    status: PaymentStatus
    outstanding: MoneyModel | None = None
    authorized: MoneyModel | None = None
    captured: MoneyModel | None = None
    transactions: list[TransactionModel] = []
    client_secret: str | None = None
    publishable_key: str | None = None


class PeriodModel(_Model):
    start_seconds: int
    limit_watts: int


class ProfileModel(_Model):
    max_charge_rate_kw: float | None = None
    departure_time: UtcDatetime | None = None
    periods: list[PeriodModel] = []


class SessionModel(_Model):
    """The wire form of :class:`~bff.domain.model.ChargingSession`."""

    provider: Provider
    id: str
    status: SessionStatus
    provider_status: str
    observed_at: UtcDatetime
    charger_id: str | None = None
    connector_id: str | None = None
    charger_name: str | None = None
    charger_city: str | None = None
    started_at: UtcDatetime | None = None
    ended_at: UtcDatetime | None = None
    duration_seconds: int | None = None
    energy_wh: int | None = None
    power_kw: float | None = None
    cost: CostModel | None = None
    payment: PaymentModel | None = None
    receipt_available: bool = False
    failure_reason: str | None = None
    remote: bool = True
    stop_failed: bool = False
    charging_profile: ProfileModel | None = None
    created_at: UtcDatetime | None = None
    extra: dict[str, str] = {}


class EnvelopeModel(_Model):
    """A stored snapshot and a published message: the session plus its bookkeeping.

    A published message also carries the session's record as it was when the snapshot
    was written (``record``, possibly null), and, when traces are on, the W3C
    ``traceparent`` of the span that wrote it (``trace``); a stored snapshot has neither
    (the record has its own key)."""

    v: int
    driver_id: str | None = None
    changed_at: float  # our clock (epoch seconds) of the last material change
    session: SessionModel
    record: SessionRecord | None = None
    trace: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One session's stored state: ``version`` grows by one with every write."""

    session: ChargingSession
    version: int
    driver_id: str | None
    changed_at: float
    #: The session's record as of this write, when the snapshot came in a message
    #: (``carries_record``): a subscriber then needs no read of its own.
    record: SessionRecord | None = None
    carries_record: bool = False
    #: The publisher's ``traceparent`` (traces on, from a message).
    trace: str | None = None


def to_model(s: ChargingSession) -> SessionModel:
    c, p, prof = s.cost, s.payment, s.charging_profile
    return SessionModel.model_validate(
        {
            **{f: getattr(s, f) for f in _PLAIN},
            "energy_wh": s.energy.watt_hours if s.energy else None,
            "cost": None
            if c is None
            else CostModel(
                total=MoneyModel(amount_minor=c.total.amount_minor, currency=c.total.currency),
                excl_vat=MoneyModel.of(c.excl_vat),
                vat_percent=c.vat_percent,
                estimated=c.estimated,
            ),
            "payment": None
            if p is None
            else {
                "status": p.status,
                "outstanding": MoneyModel.of(p.outstanding),
                "authorized": MoneyModel.of(p.authorized),
                "captured": MoneyModel.of(p.captured),
                "transactions": [
                    {
                        "method": t.method,
                        "outcome": t.outcome,
                        "amount": MoneyModel.of(t.amount),
                        "at": t.at,
                    }
                    for t in p.transactions
                ],
                "client_secret": p.client_secret,
                "publishable_key": p.publishable_key,
            },
            "charging_profile": None
            if prof is None
            else {
                "max_charge_rate_kw": prof.max_charge_rate_kw,
                "departure_time": prof.departure_time,
                "periods": [
                    {"start_seconds": x.start_seconds, "limit_watts": x.limit_watts}
                    for x in prof.periods
                ],
            },
        }
    )


def from_model(m: SessionModel) -> ChargingSession:
    c, p, prof = m.cost, m.payment, m.charging_profile
    return ChargingSession(
        **{f: getattr(m, f) for f in _PLAIN},
        energy=None if m.energy_wh is None else Energy(m.energy_wh),
        cost=None
        if c is None
        else Cost(c.total.domain(), _money(c.excl_vat), c.vat_percent, c.estimated),
        payment=None
        if p is None
        else Payment(
            status=p.status,
            outstanding=_money(p.outstanding),
            authorized=_money(p.authorized),
            captured=_money(p.captured),
            transactions=tuple(
                Transaction(t.method, t.outcome, t.amount.domain(), t.at) for t in p.transactions
            ),
            client_secret=p.client_secret,
            publishable_key=p.publishable_key,
        ),
        charging_profile=None
        if prof is None
        else ChargingProfile(
            prof.max_charge_rate_kw,
            prof.departure_time,
            tuple(ChargingPeriod(x.start_seconds, x.limit_watts) for x in prof.periods),
        ),
    )


_PLAIN = (
    "provider", "id", "status", "provider_status", "observed_at", "charger_id", "connector_id",
    "charger_name", "charger_city", "started_at", "ended_at", "duration_seconds", "power_kw",
    "receipt_available", "failure_reason", "remote", "stop_failed", "created_at", "extra",
)  # fmt: skip


def encode_session(s: ChargingSession) -> str:
    return to_model(s).model_dump_json()


def decode_session(raw: str | bytes) -> ChargingSession:
    return from_model(SessionModel.model_validate_json(raw))


def encode_snapshot(snap: Snapshot) -> str:
    env = EnvelopeModel(
        v=snap.version,
        driver_id=snap.driver_id,
        changed_at=snap.changed_at,
        session=to_model(snap.session),
    )
    return env.model_dump_json(exclude={"record", "trace"})  # see with_record


def with_record(payload: str, record_json: str | bytes | None, trace: str | None = None) -> str:
    """A published message: the encoded snapshot ``payload`` with the record's stored
    JSON (or null) spliced in as it is, without decoding it, and the ``traceparent``
    (``-`` and hex digits only: nothing to escape) when there is one."""
    raw = record_json.decode() if isinstance(record_json, bytes) else record_json
    if trace is None:
        return f'{payload[:-1]},"record":{raw or "null"}}}'
    return f'{payload[:-1]},"record":{raw or "null"},"trace":{json.dumps(trace)}}}'


def decode_snapshot(raw: str | bytes) -> Snapshot:
    env = EnvelopeModel.model_validate_json(raw)
    carried = "record" in env.model_fields_set
    return Snapshot(
        from_model(env.session), env.v, env.driver_id, env.changed_at, env.record, carried,
        env.trace,
    )


def message_key(channel: str, message: str) -> str:
    """The session a published snapshot is about (its :func:`~bff.store.keys.session_key`):
    what a slow subscriber's buffer conflates on. Anything else conflates per channel, and
    so does a session's own channel (one session: no need to read the message)."""
    if keys.is_session_channel(channel):
        return channel
    try:
        env = _KeyOnly.model_validate_json(message)
    except ValueError:
        return channel
    return keys.session_key(env.session.provider, env.session.id)


class _SessionKey(BaseModel):
    provider: Provider
    id: str


class _KeyOnly(BaseModel):
    session: _SessionKey
