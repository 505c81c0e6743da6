"""Finding one driver's session, wherever it lives: snapshot, record, or provider."""

from __future__ import annotations

from dataclasses import dataclass

from bff.domain.model import ChargingSession, Provider, Receipt, SessionRef
from bff.errors import NotFound, ProviderNotFound
from bff.resources import Resources
from bff.store.records import SessionRecord


@dataclass(frozen=True, slots=True)
class OwnedSession:
    """A session and, when the BFF has one, its record (owner, driver actions, profile)."""

    session: ChargingSession
    record: SessionRecord | None
    driver_id: str


async def load_session(
    resources: Resources, driver_id: str, provider: Provider, session_id: str
) -> OwnedSession | None:
    """The driver's session, or None when unknown or someone else's (indistinguishable)."""
    snapshot, record = await resources.hub.snapshot_and_record(provider, session_id)
    return await owned_session(resources, driver_id, provider, session_id, snapshot, record)


async def owned_session(
    resources: Resources,
    driver_id: str,
    provider: Provider,
    session_id: str,
    snapshot: ChargingSession | None,
    record: SessionRecord | None,
) -> OwnedSession | None:
    """:func:`load_session` from the session's ``snapshot`` and ``record`` as just read:
    at once when both are there, else from the provider."""
    if record is not None and record.driver_id != driver_id:
        return None
    if snapshot is not None and record is not None:
        return OwnedSession(snapshot, record, driver_id)
    adapter = resources.adapter(provider)
    if adapter is None:
        return None
    ref = record.ref() if record else SessionRef(driver_id, session_id)
    if record is None and not adapter.claimable:
        # Only the record reaches it (Plugchoice's token): without one, nothing can.
        return None
    try:
        fetched = await adapter.get_session(ref)
    except ProviderNotFound:
        return None
    if fetched is None:
        return None
    if record is None:
        # The provider answered the driver's own read: theirs (after a Redis loss, or a
        # Plugsurfing session started at the charger). Re-owned: indexed, listed again.
        record = SessionRecord(
            provider=provider,
            session_id=session_id,
            driver_id=driver_id,
            charger_id=fetched.charger_id,
            connector_id=fetched.connector_id,
            created_at=fetched.sort_time,
        )
        await resources.records.save(record)
    current = await resources.hub.record(fetched, driver_id)
    return OwnedSession(current, record, driver_id)


async def require_session(
    resources: Resources, driver_id: str, provider: Provider, session_id: str
) -> OwnedSession:
    found = await load_session(resources, driver_id, provider, session_id)
    if found is None:
        lost_at = resources.hub.redis_loss.unreachable_since(provider, session_id)
        if lost_at is not None:
            raise NotFound(
                f"this session's record was lost when Redis was emptied at "
                f"{lost_at.isoformat(timespec='seconds')}: it cannot be reached from here; "
                "stop it at the charger or ask support"
            )
        raise NotFound("no such session")
    return found


async def get_receipt(
    resources: Resources, driver_id: str, provider: Provider, session_id: str
) -> Receipt | None:
    """The session's receipt from its provider (None when that provider is not enabled);
    provider errors propagate. Reached with the session's record when there is one (a
    Plugchoice token), else as the driver."""
    adapter = resources.adapter(provider)
    if adapter is None:
        return None
    record = await resources.records.get(provider, session_id)
    return await adapter.get_receipt(record.ref() if record else SessionRef(driver_id, session_id))
