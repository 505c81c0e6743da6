"""The live-updates façade the app uses: record, refresh, watch, webhooks, pollers.

Write path: a provider's word (webhook, poll, a mutation's answer) -> :meth:`LiveHub.record`
or :meth:`LiveHub.refresh` -> compare-and-set of the snapshot in Redis, published on the
session's and the driver's channels when it really changed.

Read path: :meth:`LiveHub.watch_session` / :meth:`LiveHub.watch_driver` subscribe first,
then read the snapshots, then follow the channel: no duplicates, never an older state
after a newer one (ordered by ``observed_at`` then the snapshot's version), and a re-read
after the broker reconnects or a slow reader's buffer overflows.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from redis.asyncio import Redis

from bff.domain.model import ChargingSession, Provider, SessionRef, SessionStatus
from bff.domain.reconcile import DriverAction
from bff.errors import ProviderError, ProviderNotFound, WebhookRejected
from bff.live.broker import Broker, RedisBroker
from bff.live.codec import Snapshot, message_key
from bff.live.livecopy import LiveCopy
from bff.live.pollers import Poller
from bff.live.redis_loss import RedisLossWatch
from bff.live.snapshots import SnapshotStore
from bff.live.watch import follow
from bff.providers import registry
from bff.providers.base import ProviderAdapter, RefetchSession, SessionState
from bff.settings import Settings
from bff.store import keys
from bff.store.records import SessionRecord, SessionRecords

log = logging.getLogger(__name__)

#: Distinct sessions a slow subscriber may have waiting before it must re-read.
SUBSCRIBER_MAX_KEYS = 64


class SessionWatch:
    """One session followed (:meth:`LiveHub.watch_session`): what was read right after
    subscribing, then (iterated) that snapshot and each newer one.

    ``snapshot`` carries its record, so its first state needs no read of its own. When the
    caller changed the session after that read (:meth:`reread`: e.g. fetched it from its
    provider), the first state is read again instead."""

    def __init__(
        self,
        snapshot: Snapshot | None,
        record: SessionRecord | None,
        follow_from: Callable[[list[Snapshot] | None], AsyncGenerator[Snapshot, None]],
    ) -> None:
        self.snapshot = snapshot
        self.record = record
        self._first: list[Snapshot] | None = [snapshot] if snapshot is not None else None
        self._follow_from = follow_from
        self._updates: AsyncGenerator[Snapshot, None] | None = None

    def reread(self) -> None:
        """Read the snapshot again before the first state (before iterating)."""
        self._first = None

    def __aiter__(self) -> AsyncGenerator[Snapshot, None]:
        if self._updates is None:
            self._updates = self._follow_from(self._first)
        return self._updates

    def __anext__(self) -> Awaitable[Snapshot]:
        return self.__aiter__().__anext__()

    async def aclose(self) -> None:
        if self._updates is not None:
            await self._updates.aclose()


class LiveHub:
    """Live session state for the whole app (one per process, built in the lifespan)."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        records: SessionRecords,
        adapters: Mapping[Provider, ProviderAdapter],
        *,
        broker: Broker | None = None,
        store: SnapshotStore | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.records = records
        self.adapters = adapters
        self.store = store or SnapshotStore(redis)
        self.broker: Broker = broker or RedisBroker(
            redis,
            redis_url or settings.redis_url or "",
            key_of=message_key,
            max_keys=SUBSCRIBER_MAX_KEYS,
            backoff_max=settings.redis_reconnect_max_seconds,
            client_name=f"bff-pubsub:{os.getpid()}",
        )
        self.poller = Poller(settings, redis, self.store, self.refresh, set(adapters))
        copy = LiveCopy(
            redis, records, self.store, adapters, keep_records=settings.redis_keep_live_records
        )
        self.redis_loss = RedisLossWatch(
            settings,
            redis,
            copy,
            self.store,
            records,
            claimable=[p for p, a in adapters.items() if a.claimable],
            on_restored=self.poller.catch_up,
        )

    async def start(self) -> None:
        await self.broker.start()
        self.poller.start()
        self.redis_loss.start()

    async def aclose(self) -> None:
        await self.redis_loss.aclose()
        await self.poller.aclose()
        await self.broker.aclose()

    # -- writes --------------------------------------------------------------------------

    async def refresh(
        self, provider: Provider, session_id: str, driver_id: str | None = None
    ) -> ChargingSession | None:
        """Re-fetch the session from its provider, reconcile and publish; the snapshot
        after, or None when the provider does not know it (or it is not ``driver_id``'s).
        Provider errors propagate."""
        adapter = self.adapters.get(provider)
        if adapter is None:
            return None
        record = await self.records.get(provider, session_id)
        if record is not None:
            if driver_id is not None and driver_id != record.driver_id:
                log.warning(
                    "refresh of %s:%s for a driver who does not own it", provider, session_id
                )
                return None
            ref = record.ref()
        else:
            owner = driver_id or await self.store.owner(provider, session_id)
            if owner is None:
                return None
            ref = SessionRef(owner, session_id)
        fetched = await adapter.get_session(ref)
        if fetched is None:
            return None
        return await self._apply(fetched, ref.driver_id, record)

    async def record(self, session: ChargingSession, driver_id: str) -> ChargingSession:
        """Apply a provider-sourced session we already hold (e.g. a mutation's answer);
        returns the snapshot after reconciliation."""
        record = await self.records.get(session.provider, session.id)
        return await self._apply(session, record.driver_id if record else driver_id, record)

    async def driver_action(
        self, provider: Provider, session_id: str, driver_id: str, action: DriverAction
    ) -> ChargingSession | None:
        """The driver abandons the session or asked to stop it; the snapshot after, or
        None when there is none (or it is someone else's)."""
        record = await self.records.get(provider, session_id)
        if record is not None and record.driver_id != driver_id:
            return None
        current = await self.store.get_snapshot(provider, session_id)
        if record is None and current is not None and current.driver_id not in (None, driver_id):
            return None
        if current is None:
            try:
                await self.refresh(provider, session_id, driver_id)
            except ProviderError as exc:
                log.warning("%s: no snapshot of %s to act on: %s", provider, session_id, exc)
        applied = await self.store.act(provider, session_id, action, _now(), driver_id)
        return applied.session

    async def _apply(
        self, session: ChargingSession, driver_id: str | None, record: SessionRecord | None
    ) -> ChargingSession:
        if record is not None and (session.charger_id is None or session.connector_id is None):
            # Some providers (roaming) omit where the session runs; the record knows.
            session = replace(
                session,
                charger_id=session.charger_id or record.charger_id,
                connector_id=session.connector_id or record.connector_id,
            )
        applied = await self.store.upsert(session, driver_id)
        snap = applied.snapshot
        assert snap is not None  # an upsert always leaves a snapshot
        if record is not None and record.abandoned_at is not None:
            # The driver abandoned it, but the snapshot was lost: the record remembers.
            if snap.session.status is not SessionStatus.ABANDONED:
                again = await self.store.act(
                    session.provider, session.id, "abandon", record.abandoned_at, driver_id
                )
                snap = again.snapshot or snap
        return snap.session

    # -- reads ---------------------------------------------------------------------------

    async def snapshot(self, provider: Provider, session_id: str) -> ChargingSession | None:
        return await self.store.get(provider, session_id)

    async def snapshot_and_record(
        self, provider: Provider, session_id: str
    ) -> tuple[ChargingSession | None, SessionRecord | None]:
        """The session's snapshot and the BFF's record of it, in one round trip."""
        snap, record = await self.store.get_with_record(provider, session_id)
        return (snap.session if snap is not None else None), record

    @asynccontextmanager
    async def watch_session(
        self,
        provider: Provider,
        session_id: str,
    ) -> AsyncIterator[SessionWatch]:
        """The session's channel, subscribed, then its snapshot and record read in one
        round trip (:class:`SessionWatch`): the caller checks who owns it from what was
        read, and iterating yields that snapshot, then each newer one."""

        async def read() -> list[Snapshot]:
            found = await self.store.get_snapshots([(provider, session_id)])
            return [s for s in found if s is not None]

        channel = keys.session_channel(keys.session_key(provider, session_id))
        async with self.broker.subscribe(channel) as sub:
            snap, record = await self.store.get_with_record(provider, session_id)
            watch = SessionWatch(snap, record, lambda first: follow(sub, read, None, first))
            try:
                yield watch
            finally:
                await watch.aclose()

    @asynccontextmanager
    async def watch_driver(
        self,
        driver_id: str,
    ) -> AsyncIterator[AsyncIterator[Snapshot]]:
        """The driver's live sessions now, then every newer state of any of their
        sessions (including one that ends or starts later)."""

        async def read() -> list[Snapshot]:
            return await self.store.driver_snapshots(driver_id)

        async with self.broker.subscribe(keys.driver_channel(driver_id)) as sub:
            updates = follow(sub, read, since=_now().timestamp())
            try:
                yield updates
            finally:
                await updates.aclose()

    # -- webhooks ------------------------------------------------------------------------

    async def handle_webhook(
        self, provider: Provider, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Verify and read a provider's webhook (:mod:`bff.providers.registry`), then act
        on it; returns once its effect is recorded. Raises :class:`WebhookRejected`."""
        entry = registry.entry(provider)
        if entry.webhooks is None:
            raise WebhookRejected(404, "this provider sends no webhooks")
        self._check_size(body)
        event = entry.webhooks(headers, body, self.settings, _now())
        if isinstance(event, RefetchSession):
            await self._refetch(provider, entry.name, event)
        else:
            await self._record_state(provider, entry.name, event)

    async def _refetch(self, provider: Provider, name: str, prompt: RefetchSession) -> None:
        """A prompt to re-fetch that session."""
        if not prompt.known:
            log.warning("%s webhook: unknown event %r, re-fetching anyway", name, prompt.event)
        try:
            await self.refresh(provider, prompt.session_id, prompt.driver_id)
        except ProviderNotFound:
            log.warning("%s webhook for a session it does not know: ignored", name)
        except ProviderError as exc:
            # Such a provider may never resend (Plugsurfing): keep the prompt for the pollers.
            log.warning("%s webhook: re-fetch failed (%s); polling soon", name, exc)
            await self.store.mark_due(provider, prompt.session_id, prompt.driver_id)

    async def _record_state(self, provider: Provider, name: str, state: SessionState) -> None:
        """The session's new state, once per delivery id."""
        seen = keys.webhook_seen(provider, state.delivery_id)
        ttl = keys.webhook_seen_ttl(self.settings.webhook_tolerance_seconds)
        if not await self.redis.set(seen, "1", nx=True, ex=ttl):
            log.info("%s webhook %s replayed: ignored", name, state.delivery_id)
            return
        try:
            record = await self.records.get(provider, state.session.id)
            if record is None:
                log.warning("%s webhook for unknown session %s: ignored", name, state.session.id)
                return
            await self._apply(state.session, record.driver_id, record)
        except BaseException:
            # Not recorded: let a retry of the same webhook through.
            try:
                await self.redis.delete(seen)
            except Exception:
                log.warning("could not release webhook id %s", state.delivery_id)
            raise

    def _check_size(self, body: bytes) -> None:
        if len(body) > self.settings.webhook_max_bytes:
            raise WebhookRejected(413, "webhook body too large")


def _now() -> datetime:
    return datetime.now(UTC)
