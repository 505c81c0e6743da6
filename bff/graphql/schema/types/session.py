"""ChargingSession and what hangs off it."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime

import strawberry

from bff import ids
from bff.domain import model, rules
from bff.graphql.engine.marks import Marked
from bff.graphql.schema.loaders import Loaders
from bff.graphql.schema.selection import plain_subfields
from bff.graphql.schema.types.charger import SUMMARY_FIELDS, Charger, Connector
from bff.graphql.schema.types.common import (
    Cost,
    Energy,
    Node,
    PageInfo,
    Provider,
    SessionStatus,
)
from bff.graphql.schema.types.session_parts import (
    ChargingProfile,
    Payment,
    Receipt,
    later,
)
from bff.usecases.sessions import OwnedSession


@strawberry.type
class ChargingSession(Node):
    id: strawberry.ID
    _owned: strawberry.Private[OwnedSession]
    _loaders: strawberry.Private[Loaders]
    _start_timeout: strawberry.Private[float]
    #: Which state of which session this is, when it is a subscription's result.
    live_mark: strawberry.Private[Marked | None] = None

    @property
    def _s(self) -> model.ChargingSession:
        return self._owned.session

    @classmethod
    def of(cls, owned: OwnedSession, loaders: Loaders, start_timeout: float) -> ChargingSession:
        s = owned.session
        return cls(
            id=strawberry.ID(ids.encode(ids.SESSION, s.provider, s.id)),
            _owned=owned,
            _loaders=loaders,
            _start_timeout=start_timeout,
        )

    def _status(self) -> model.SessionStatus:
        record = self._owned.record
        if (
            record is not None
            and record.abandoned_at is not None
            and self._s.status not in (rules.FINAL)
        ):
            return model.SessionStatus.ABANDONED
        return self._s.status

    @strawberry.field
    def provider(self) -> Provider:  # type: ignore[valid-type]
        return self._s.provider

    @strawberry.field(description="The provider's own session id, for support staff.")
    def provider_session_id(self) -> str:
        return self._s.id

    @strawberry.field
    def status(self) -> SessionStatus:  # type: ignore[valid-type]
        return self._status()

    @strawberry.field(description="The provider's own status word.")
    def provider_status(self) -> str:
        return self._s.provider_status

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self._s.started_at

    @strawberry.field
    def ended_at(self) -> datetime | None:
        return self._s.ended_at

    @strawberry.field(description="When the provider last reported this state.")
    def updated_at(self) -> datetime:
        return self._s.observed_at

    @strawberry.field(
        description="Seconds from `startedAt` to `endedAt` (to now while charging); the "
        "provider's own figure only where it gives no timestamps."
    )
    def duration_seconds(self) -> int | None:
        s = self._s
        if s.started_at is not None:
            if s.ended_at is not None:
                return max(0, int((s.ended_at - s.started_at).total_seconds()))
            if s.status in (model.SessionStatus.CHARGING, model.SessionStatus.STOPPING):
                return max(0, int((datetime.now(UTC) - s.started_at).total_seconds()))
        return s.duration_seconds

    @strawberry.field
    def energy(self) -> Energy | None:
        return Energy(watt_hours=self._s.energy.watt_hours) if self._s.energy else None

    @strawberry.field
    def power_kw(self) -> float | None:
        return self._s.power_kw

    @strawberry.field
    def cost(self) -> Cost | None:
        return Cost.of(self._s.cost)

    @strawberry.field
    def can_stop(self) -> bool:
        return self._status() not in rules.FINAL and rules.can_stop(self._s)

    @strawberry.field
    def can_abandon(self) -> bool:
        if self._status() is model.SessionStatus.ABANDONED:
            return False
        record = self._owned.record
        return rules.can_abandon(
            self._s,
            datetime.now(UTC),
            self._start_timeout,
            record.stop_requested_at if record else None,
        )

    @strawberry.field
    def stop_failed(self) -> bool:
        return self._s.stop_failed

    @strawberry.field
    def failure_reason(self) -> str | None:
        return self._s.failure_reason

    def _place(self) -> tuple[str | None, str | None]:
        """Charger and connector ids; the record knows them where the provider omits them."""
        record = self._owned.record
        charger = self._s.charger_id or (record.charger_id if record else None)
        connector = self._s.connector_id or (record.connector_id if record else None)
        return charger, connector

    def _held_charger(self) -> model.Charger | Awaitable[model.Charger | None] | None:
        """The session's charger when it is at hand (none, or held by the process's
        charger cache), else an awaitable of it (one load per request, batched)."""
        charger_id, _ = self._place()
        if not charger_id:
            return None
        key = (self._s.provider, charger_id)
        held = self._loaders.resources.chargers.cached(*key)
        if held is not None:
            return held
        return self._loaders.charger_by_id.load(key)

    def charger_summary(self, wanted: frozenset[str] | None) -> Charger | None:
        """The charger from what the session itself says, when ``wanted`` (the fields
        selected) asks no more than that; else None (the provider is asked)."""
        if wanted is None or not wanted <= SUMMARY_FIELDS:
            return None
        s = self._s
        charger_id, _ = self._place()
        if charger_id is None or s.charger_name is None:
            return None
        if "city" in wanted and s.charger_city is None:
            return None
        return Charger.summary(s.provider, charger_id, s.charger_name, s.charger_city)

    # ``charger`` and ``connector`` answer at once when the charger is at hand, and an
    # awaitable otherwise (see ``Receipt``).

    @strawberry.field
    def charger(self, info: strawberry.Info) -> Charger | None:
        wanted = plain_subfields(info)
        summary = self.charger_summary(wanted)
        if summary is not None:
            return summary
        c = self._held_charger()
        if c is None or isinstance(c, model.Charger):
            return Charger.of(c) if c else None
        return later(self._charger_type(c))

    async def _charger_type(self, c: Awaitable[model.Charger | None]) -> Charger | None:
        found = await c
        return Charger.of(found) if found else None

    @strawberry.field
    def connector(self) -> Connector | None:
        c = self._held_charger()
        if c is None or isinstance(c, model.Charger):
            return self._connector_type(c)
        return later(self._connector_later(c))

    async def _connector_later(self, c: Awaitable[model.Charger | None]) -> Connector | None:
        return self._connector_type(await c)

    def _connector_type(self, c: model.Charger | None) -> Connector | None:
        _, connector_id = self._place()
        conn = c.connector(connector_id) if c and connector_id else None
        return Connector.of(c, conn) if c and conn else None

    @strawberry.field
    def payment(self) -> Payment:
        return Payment.of(self._s.payment)

    @strawberry.field
    def receipt(self) -> Receipt:
        s = self._s
        return Receipt(
            available=s.receipt_available,
            _key=(s.provider, s.id, self._owned.driver_id),
            _loaders=self._loaders,
            _session=s,
            _now=datetime.now(UTC),
        )

    @strawberry.field
    def charging_profile(self) -> ChargingProfile | None:
        record = self._owned.record
        if self._s.charging_profile is not None:
            return ChargingProfile.of(self._s.charging_profile)
        if record is not None and record.charging_profile is not None:
            from bff.usecases.profiles import profile_from_record

            return ChargingProfile.of(profile_from_record(record.charging_profile))
        return None


@strawberry.type
class SessionEdge:
    cursor: str
    node: ChargingSession


@strawberry.type
class SessionConnection:
    edges: list[SessionEdge]
    page_info: PageInfo
