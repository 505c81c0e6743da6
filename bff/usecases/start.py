"""Starting a session: idempotency, remote capability, the connector cooldown, then the
provider (seed 001: nothing ever blocks a driver from starting another session)."""

from __future__ import annotations

import asyncio
import json
import logging
import re

from bff import ids
from bff.domain.model import PaymentStatus, Provider
from bff.errors import (
    ChargerNotRemoteCapable,
    ConnectorUnavailable,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderRejected,
)
from bff.providers.base import StartRequest
from bff.resources import Resources
from bff.store import keys
from bff.store.records import SessionRecord
from bff.usecases.limits import (
    check_driver_rate,
    release_cooldown,
    restart_cooldown,
    take_cooldown,
)
from bff.usecases.sessions import OwnedSession, require_session

log = logging.getLogger(__name__)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def start_session(
    resources: Resources,
    driver_id: str,
    connector_id: str,
    idempotency_key: str | None = None,
    battery_target_kwh: float | None = None,
    email: str | None = None,
) -> OwnedSession:
    gid = ids.decode(connector_id, ids.CONNECTOR, field="connectorId")
    if battery_target_kwh is not None and not 0 < battery_target_kwh <= 500:
        raise InvalidInput("batteryTargetKwh must be between 0 and 500", "batteryTargetKwh")
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        raise InvalidInput("email is not a valid address", field="email")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInput("idempotencyKey must be 1 to 200 characters", "idempotencyKey")
    redis = resources.redis
    idem = keys.start_idempotency(driver_id, idempotency_key) if idempotency_key else None
    if idem:
        previous = await _previous_result(resources, idem)
        if previous is not None:
            return await require_session(resources, driver_id, *previous)
    await check_driver_rate(redis, driver_id, resources.settings.mutation_rate_per_minute)
    adapter = resources.adapter(gid.provider)
    if adapter is None:
        raise NotFound("no such connector")
    charger_id, conn_id = gid.parts
    chargers = await resources.chargers.get(gid.provider, [charger_id])
    charger = chargers.get(charger_id)
    if charger is None or charger.connector(conn_id) is None:
        raise NotFound("no such connector")
    if not charger.remote_start_stop:
        raise ChargerNotRemoteCapable("this charger cannot be started from the app")
    pending = keys.IDEMPOTENCY_PENDING_TTL
    if idem and not await redis.set(idem, "pending", nx=True, ex=pending):
        previous = await _wait_previous(resources, idem)
        return await require_session(resources, driver_id, *previous)
    cooldown = keys.connector_cooldown(gid.provider, charger_id, conn_id)
    cooldown_s = resources.settings.connector_cooldown_seconds
    try:
        # Claimed while we ask (one start per connector at a time, every replica), and
        # kept only once the provider accepted: a refused start blocks nobody.
        await take_cooldown(redis, cooldown, cooldown_s)
        try:
            session, extra = await adapter.start_session(
                StartRequest(driver_id, charger, conn_id, battery_target_kwh, email)
            )
        except ProviderError:
            await release_cooldown(redis, cooldown)
            raise
    except ProviderRejected as exc:
        if idem:
            await redis.delete(idem)
        if exc.reason in (
            ProviderRejected.CHARGER_OFFLINE,
            ProviderRejected.CONNECTOR_UNAVAILABLE,
            ProviderRejected.UNKNOWN_CONNECTOR,
        ):
            raise ConnectorUnavailable(exc.message, exc.reason) from None
        raise
    except BaseException:
        if idem:
            await redis.delete(idem)
        raise
    if session.payment and session.payment.status is PaymentStatus.REQUIRES_ACTION:
        # Nothing started at the charger yet: the app's card step comes first.
        await release_cooldown(redis, cooldown)
    else:
        await restart_cooldown(redis, cooldown, cooldown_s)  # from the provider's yes
    record = SessionRecord(
        provider=gid.provider,
        session_id=session.id,
        driver_id=driver_id,
        charger_id=session.charger_id or charger_id,
        connector_id=session.connector_id or conn_id,
        extra=extra,
    )
    await resources.records.save(record)
    current = await resources.hub.record(session, driver_id)
    if idem:
        await redis.set(
            idem,
            json.dumps([gid.provider.value, session.id]),
            ex=resources.settings.idempotency_ttl_seconds,
        )
    log.info("session started", extra={"provider": gid.provider.value, "session": session.id})
    return OwnedSession(current, record, driver_id)


async def _previous_result(resources: Resources, key: str) -> tuple[Provider, str] | None:
    raw = await resources.redis.get(key)
    if raw is None or raw in (b"pending", "pending"):
        return None
    provider, session_id = json.loads(raw)
    return Provider(provider), session_id


async def _wait_previous(resources: Resources, key: str) -> tuple[Provider, str]:
    """A retry racing the first request: wait (bounded) for the first one's result."""
    for _ in range(100):
        found = await _previous_result(resources, key)
        if found is not None:
            return found
        if await resources.redis.get(key) is None:
            break
        await asyncio.sleep(0.1)
    raise InvalidInput(
        "the first request with this idempotencyKey did not finish; retry", "idempotencyKey"
    )
