"""Driver actions on an existing session: stop, abandon, pay, steer."""

from __future__ import annotations

from datetime import UTC, datetime

from bff import ids
from bff.domain import rules
from bff.domain.model import (
    ChargingProfile,
    PaymentStatus,
    Provider,
    SessionRef,
    SessionStatus,
)
from bff.errors import (
    NotFound,
    NotSupported,
    PaymentNotRetryable,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    RateLimited,
    SessionNotAbandonable,
    SessionNotStoppable,
)
from bff.resources import Resources
from bff.usecases.limits import check_driver_rate
from bff.usecases.profiles import profile_to_record, validate_profile
from bff.usecases.sessions import OwnedSession, require_session

STOPPED_ALREADY = (SessionStatus.STOPPED, SessionStatus.COMPLETED, SessionStatus.REFUNDED)


async def _own(resources: Resources, driver_id: str, session_id: str) -> OwnedSession:
    gid = ids.decode(session_id, ids.SESSION)
    await check_driver_rate(resources.redis, driver_id, resources.settings.mutation_rate_per_minute)
    return await require_session(resources, driver_id, gid.provider, gid.key)


def _provider_errors(exc: Exception) -> Exception:
    if isinstance(exc, ProviderRateLimited):
        return RateLimited(exc.message, exc.retry_after_seconds)
    if isinstance(exc, ProviderNotFound):
        return NotFound("the provider no longer knows this session (unknown or expired)")
    if isinstance(exc, ProviderRejected) and exc.reason == ProviderRejected.NOT_SUPPORTED:
        return NotSupported(f"{exc.provider} does not support this")
    return exc


async def stop_session(resources: Resources, driver_id: str, session_id: str) -> OwnedSession:
    owned = await _own(resources, driver_id, session_id)
    s, record = owned.session, owned.record
    if s.status in STOPPED_ALREADY:
        # Seed 001 lets a stop of a stopped session succeed again at the provider; the
        # driver is told why nothing happened, with the session, and no call is made.
        raise SessionNotStoppable(f"this session has already ended ({s.status.value})", owned)
    if not s.remote:
        raise SessionNotStoppable("this session was started at the charger, stop it there", owned)
    if record is not None and record.abandoned_at is not None:
        raise SessionNotStoppable("this session was abandoned", owned)
    if not rules.can_stop(s):
        raise SessionNotStoppable(f"a {s.status.value.lower()} session cannot be stopped", owned)
    adapter = resources.adapters[s.provider]
    if record is not None:
        record = record.model_copy(update={"stop_requested_at": datetime.now(UTC)})
        await resources.records.save(record)
    # The driver's wish first: the provider's answer, observed after it, then wins.
    await resources.hub.driver_action(s.provider, s.id, driver_id, "stop_requested")
    try:
        result = await adapter.stop_session(record.ref() if record else _ref(owned))
    except Exception as exc:
        raise _provider_errors(exc) from None
    current = await resources.hub.record(result, driver_id)
    return OwnedSession(current, record, driver_id)


async def abandon_session(resources: Resources, driver_id: str, session_id: str) -> OwnedSession:
    owned = await _own(resources, driver_id, session_id)
    s, record = owned.session, owned.record
    if record is not None and record.abandoned_at is not None:
        return owned
    if record is None or not rules.can_abandon(
        s,
        datetime.now(UTC),
        resources.settings.start_timeout_seconds,
        record.stop_requested_at,
    ):
        raise SessionNotAbandonable(
            "only a session that never started or never stopped can be abandoned"
        )
    record = record.model_copy(update={"abandoned_at": datetime.now(UTC)})
    await resources.records.save(record)
    current = await resources.hub.driver_action(s.provider, s.id, driver_id, "abandon")
    return OwnedSession(current or s, record, driver_id)


async def confirm_payment(resources: Resources, driver_id: str, session_id: str) -> OwnedSession:
    owned = await _own(resources, driver_id, session_id)
    if owned.record is None:
        raise NotFound("no such session")
    adapter = resources.adapters[owned.session.provider]
    try:
        result = await adapter.confirm_payment(owned.record.ref())
    except Exception as exc:
        raise _provider_errors(exc) from None
    current = await resources.hub.record(result, driver_id)
    return OwnedSession(current, owned.record, driver_id)


async def retry_payment(resources: Resources, driver_id: str, session_id: str) -> OwnedSession:
    owned = await _own(resources, driver_id, session_id)
    s = owned.session
    status = s.payment.status if s.payment else PaymentStatus.NONE
    if s.provider is not Provider.PLUGSURFING or status is not PaymentStatus.DEBT:
        raise PaymentNotRetryable(
            f"payment is {status.value.lower()}; only an outstanding debt can be retried"
        )
    adapter = resources.adapters[s.provider]
    try:
        result = await adapter.retry_payment(owned.record.ref() if owned.record else _ref(owned))
    except Exception as exc:
        raise _provider_errors(exc) from None
    current = await resources.hub.record(result, driver_id)
    return OwnedSession(current, owned.record, driver_id)


async def set_charging_profile(
    resources: Resources, driver_id: str, session_id: str, profile: ChargingProfile | None
) -> OwnedSession:
    """``profile=None`` clears it."""
    if profile is not None:
        validate_profile(profile)
    gid = ids.decode(session_id, ids.SESSION, field="sessionId" if profile else "id")
    owned = await _own(resources, driver_id, session_id)
    s, record = owned.session, owned.record
    adapter = resources.adapters[s.provider]
    charger_id = s.charger_id or (record.charger_id if record else None)
    chargers = await resources.chargers.get(s.provider, [charger_id]) if charger_id else {}
    charger = chargers.get(charger_id) if charger_id else None
    if gid.provider is not Provider.ROAMING or charger is None or not charger.smart_charging:
        raise NotSupported("this charger does not support smart charging")
    if s.status not in (SessionStatus.STARTING, SessionStatus.CHARGING) or record is None:
        raise NotSupported(f"a {s.status.value.lower()} session cannot be steered")
    try:
        if profile is None:
            await adapter.clear_charging_profile(record.ref())
            stored = None
        else:
            stored = profile_to_record(await adapter.set_charging_profile(record.ref(), profile))
    except Exception as exc:
        raise _provider_errors(exc) from None
    record = record.model_copy(update={"charging_profile": stored})
    await resources.records.save(record)
    return OwnedSession(s, record, driver_id)


def _ref(owned: OwnedSession) -> SessionRef:
    return SessionRef(owned.driver_id, owned.session.id)
