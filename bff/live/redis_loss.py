"""Redis that comes back empty: seen, said out loud, and mended where providers allow.

Each replica checks every ``redis_check_seconds`` (and on ``/readyz``) that the epoch
marker (:mod:`bff.store.epoch`) is still the one it found. When it is gone or another,
Redis lost what we wrote. The replica then logs one ERROR with what it knew was live
(:class:`~bff.live.livecopy.LiveCopy`), counts it in metrics, reports it in ``/readyz``
(still 200: a flushed Redis serves, and taking every replica out of the load balancer
would strand every driver, not some), writes a new marker, and mends. Each session it
knew was live is then

- ``restored``: its record, copied by this replica, is written back (owner, charger,
  Plugchoice token) and the session polled at once;
- ``pending``: no copy, but the provider can say whose it is: a Plugsurfing webhook
  names the driver and its history API needs nothing from us; a roaming session answers
  only its own driver's JWT, so it is re-owned when its driver opens it;
- ``recovered``: a pending session that has an owner again;
- ``unrecoverable``: no copy and no one to ask (Plugchoice: the token lived only in
  Redis). Logged at WARNING with the session ids; a driver asking for one is told to
  stop it at the charger.

The replica also reads, at start and every minute, whether Redis persists (AOF, RDB,
replicas), and warns when it does not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError

from bff.domain.model import Provider
from bff.live.livecopy import Key, LiveCopy
from bff.live.loss_event import UNRESOLVED, LossEvent, by_provider
from bff.live.snapshots import SnapshotStore
from bff.settings import Settings
from bff.store.client import AnyRedis
from bff.store.epoch import (
    Epoch,
    Persistence,
    decode_epoch,
    ensure_epoch,
    probe_persistence,
    read_epoch,
)
from bff.store.records import SessionRecord, SessionRecords
from bff.tasks import stop

log = logging.getLogger(__name__)

#: A loss is followed (recoveries counted) and reported in /readyz this long.
REPORT_FOR = timedelta(hours=24)
#: Loss events kept.
MAX_EVENTS = 5
#: Seconds between reads of Redis's persistence settings.
PROBE_EVERY = 60.0


class RedisLossWatch:
    """One replica's watch over the epoch marker (built and started by the hub)."""

    def __init__(
        self,
        settings: Settings,
        redis: AnyRedis,
        copy: LiveCopy,
        store: SnapshotStore,
        records: SessionRecords,
        claimable: Collection[Provider],
        on_restored: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.copy = copy
        self.store = store
        self.records = records
        self.claimable = frozenset(claimable)
        self.on_restored = on_restored
        self.epoch: Epoch | None = None
        self.persistence: Persistence | None = None
        self.events: list[LossEvent] = []
        self.losses = 0
        self._intact_at: datetime | None = None
        self._to_restore: dict[Key, SessionRecord | None] = {}  # until written back
        self._probed_at = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._round: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="redis-loss-watch")

    async def aclose(self) -> None:
        for task in (self._task, self._round):
            await stop(task)
        self._task = self._round = None

    async def _run(self) -> None:
        while True:
            try:
                await self._round_now()
            except (RedisError, OSError) as exc:
                # Redis away: /readyz and the broker say so; the marker is read again later.
                log.debug("redis check failed: %s", exc)
            except Exception:  # the watch must outlive any one bad round
                log.exception("redis check failed")
            await asyncio.sleep(self.settings.redis_check_seconds)

    def _round_now(self) -> asyncio.Future[None]:
        """The round in flight, or a new one: one at a time, whoever asks. Shielded, so
        a caller that gives up (a /readyz timeout) does not cut a restore short."""
        if self._round is None or self._round.done():
            self._round = asyncio.create_task(self.check(), name="redis-check")
            self._round.add_done_callback(_retrieve)
        return asyncio.shield(self._round)

    async def verify(self) -> None:
        """For /readyz: the marker alone, and a whole round when it changed."""
        found = await read_epoch(self.redis)
        if self.epoch is None or found is None or found.id != self.epoch.id:
            await self._round_now()

    async def check(self) -> None:
        """One round: the marker and the live sets, then the follow-up of past losses and
        (every minute) Redis's persistence settings."""
        if self.epoch is None:
            await self._first_contact()
        assert self.epoch is not None
        marker, live = await self.copy.read()
        found = decode_epoch(marker)
        if found is None or found.id != self.epoch.id:
            await self._lost(found)
        else:
            self._intact_at = datetime.now(UTC)
            await self.copy.update(live)
        if self._to_restore:  # again each round until Redis takes it
            await self.copy.restore(self._to_restore)
            self._to_restore = {}
            self.on_restored()
        await self._follow_up()
        if time.monotonic() - self._probed_at >= PROBE_EVERY:
            await self._probe()

    async def _first_contact(self) -> None:
        self.epoch, created = await ensure_epoch(self.redis)
        if created:
            log.warning(
                "Redis held no epoch marker: a new Redis, or one emptied while no replica "
                "ran (sessions live then are unknown to every replica); marked epoch %s",
                self.epoch.id,
            )
        else:
            log.info("Redis epoch %s (since %s)", self.epoch.id, self.epoch.created_at)

    async def _lost(self, found: Epoch | None) -> None:
        assert self.epoch is not None
        event = LossEvent(datetime.now(UTC), self._intact_at, self.epoch.id)
        # Another replica may have marked the new Redis already: one epoch for all.
        self.epoch = found if found is not None else (await ensure_epoch(self.redis))[0]
        known, self.copy.sessions = self.copy.sessions, {}
        for key, record in known.items():
            if record is not None:
                event.states[key] = "restored"
            else:
                event.states[key] = "pending" if key[0] in self.claimable else "unrecoverable"
        self.events = [*self.events, event][-MAX_EVENTS:]
        self.losses += 1
        totals = event.totals()
        log.error(
            "%s; the marker of epoch %s vanished (intact at %s)%s",
            event.summary(),
            event.epoch,
            event.intact_at.isoformat() if event.intact_at else "never checked",
            "; writing back the records this replica copied" if totals["restored"] else "",
            extra=totals,
        )
        self._to_restore = {**self._to_restore, **known}
        unrecoverable = event.tally()["unrecoverable"]
        if unrecoverable:
            log.warning(
                "Redis loss: %d live sessions cannot be reached again%s: no copy, and "
                "their provider cannot say whose they are; sessions: %s",
                sum(unrecoverable.values()),
                by_provider(unrecoverable),
                ", ".join(event.named("unrecoverable")),
                extra={"unrecoverable": sum(unrecoverable.values())},
            )

    async def _follow_up(self) -> None:
        """Sessions of recent losses that have an owner again (a record, or a snapshot
        with a driver) count as recovered."""
        now = datetime.now(UTC)
        for event in self.events:
            if now - event.detected_at > REPORT_FOR:
                continue
            waiting = [k for k, s in event.states.items() if s in UNRESOLVED]
            if not waiting:
                continue
            records = await self.records.get_many(waiting)
            snaps = await self.store.get_snapshots(waiting)
            back = [
                k
                for k, rec, snap in zip(waiting, records, snaps, strict=True)
                if rec is not None or (snap is not None and snap.driver_id)
            ]
            for k in back:
                event.states[k] = "recovered"
            if back:
                log.info(
                    "Redis loss of %s: %d sessions have an owner again; %s",
                    event.detected_at.isoformat(),
                    len(back),
                    event.summary(),
                )

    async def _probe(self) -> None:
        self._probed_at = time.monotonic()
        found = await probe_persistence(self.redis)
        if found == self.persistence:
            return
        self.persistence = found
        concerns = found.concerns()
        if concerns:
            log.warning(
                "Redis persistence: %s. %s (README: Redis in production)",
                found.describe(),
                "; ".join(concerns),
            )
        else:
            log.info("Redis persistence: %s", found.describe())

    # -- reports -------------------------------------------------------------------------

    def recent(self) -> list[LossEvent]:
        now = datetime.now(UTC)
        return [e for e in self.events if now - e.detected_at <= REPORT_FOR]

    def unreachable_since(self, provider: Provider, session_id: str) -> datetime | None:
        """When a loss left this session unrecoverable (None if it did not)."""
        for event in self.recent():
            if event.states.get((provider, session_id)) == "unrecoverable":
                return event.detected_at
        return None

    def report(self) -> dict[str, object]:
        """The watch's part of /readyz."""
        warnings: list[str] = []
        out: dict[str, object] = {}
        if self.epoch is not None:
            out["redis_epoch"] = {"id": self.epoch.id, "created_at": self.epoch.created_at}
        if self.persistence is not None:
            out["redis_persistence"] = self.persistence.as_dict()
            warnings = self.persistence.concerns()
        events = self.recent()
        out["live_sessions_known"] = self.copy.counts()
        out["warnings"] = warnings
        out["degraded"] = [e.summary() for e in events]
        out["redis_losses"] = [e.as_dict() for e in events]
        return out


def _retrieve(task: asyncio.Task[None]) -> None:
    """A round nobody awaited to the end (its caller timed out): its error is seen."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("redis check failed: %s", task.exception())
