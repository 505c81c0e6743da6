"""Background polling of live sessions: the safety net under webhooks.

Every ``poll_interval_seconds`` each replica looks at the live set in Redis and refreshes

- every live session of a provider that sends no lifecycle webhooks (its registry
  entry: :func:`bff.providers.registry.always_polled`), and
- every live session of any provider not heard of for ``quiet_poll_after_seconds``
  (webhooks get lost; a session STARTING past the start timeout stays watched too).

A lease in Redis (:func:`bff.store.keys.poll_lease`) lets one replica poll a session per
interval; a sliding-window budget per provider, shared in Redis, keeps all replicas
together under the provider's rate limit (its entry's ``poll_budget_per_minute``). A session
leaves the live set when final, or when nothing changed for ``give_up_seconds``.

After Redis trouble (webhooks answered 503 meanwhile, and Plugsurfing never resends) the
first good round is a catch-up: every live session is due, quiet or not, and a lease this
replica left behind in the aborted round is taken back at once instead of waiting it out.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping

from redis.exceptions import RedisError

from bff.domain.model import ChargingSession, Provider
from bff.domain.reconcile import FINAL
from bff.errors import ProviderError, ProviderNotFound
from bff.live.snapshots import SnapshotStore
from bff.providers import registry
from bff.settings import Settings
from bff.store import keys
from bff.store.client import AnyRedis

log = logging.getLogger(__name__)

Refresh = Callable[[Provider, str, str | None], Awaitable[ChargingSession | None]]


# Take one slot in a sliding one-minute window, or answer 0 when it is full.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - 60000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], t, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# Take a poll lease that is free or already ours (left by a round Redis cut short).
_LEASE = """
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# Shorten our own lease (after a poll) so the next interval may poll again.
_SHORTEN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class Poller:
    """One replica's poller; :meth:`poll_once` is one round (tests call it directly)."""

    def __init__(
        self,
        settings: Settings,
        redis: AnyRedis,
        store: SnapshotStore,
        refresh: Refresh,
        providers: Iterable[Provider],
        *,
        budgets: Mapping[Provider, int] | None = None,
        give_up_seconds: float = 12 * 3600,
        concurrency: int = 8,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.store = store
        self.refresh = refresh
        self.providers = tuple(providers)
        defaults = registry.poll_budgets() if budgets is None else budgets
        self.budgets = {**defaults, **settings.poll_budgets}
        self.always_polled = registry.always_polled()
        self.give_up_seconds = give_up_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._token = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._take = redis.register_script(_TAKE)
        self._lease_script = redis.register_script(_LEASE)
        self._catch_up = False  # Redis failed us: the next round polls every live session
        self._polling: set[tuple[Provider, str]] = set()  # in flight in this process
        self._shorten = redis.register_script(_SHORTEN)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-poller")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def catch_up(self) -> None:
        """Poll every live session at the next round, quiet or not (Redis lost them and
        got them back: their snapshots are gone)."""
        self._catch_up = True

    async def _run(self) -> None:
        interval = self.settings.poll_interval_seconds
        while True:
            started = time.monotonic()
            try:
                await self.poll_once()
            except (RedisError, OSError) as exc:
                self._catch_up = True
                log.warning("poll round failed: %s", exc)
            except Exception:  # the poller must outlive any one bad round
                log.exception("poll round failed")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def poll_once(self) -> list[tuple[Provider, str]]:
        """One round; the sessions it refreshed (or tried to)."""
        catch_up = self._catch_up
        quiet = None if catch_up else self.settings.quiet_poll_after_seconds
        due: list[tuple[Provider, str]] = []
        for provider in self.providers:
            rows = await self.store.live_sessions(
                provider, None if provider in self.always_polled else quiet
            )
            for session_id, _ in rows:  # oldest first: they get the budget first
                if (provider, session_id) in self._polling:
                    continue
                if not await self._lease(provider, session_id):
                    continue
                if not await self._budget(provider):
                    await self.redis.delete(_lease_key(provider, session_id))
                    break
                due.append((provider, session_id))
        if catch_up:
            log.info("poll catch-up after Redis trouble: %d sessions", len(due))
            self._catch_up = False
        await asyncio.gather(*(self._poll(p, sid) for p, sid in due))
        return due

    async def _poll(self, provider: Provider, session_id: str) -> None:
        self._polling.add((provider, session_id))
        try:
            await self._poll_one(provider, session_id)
        finally:
            self._polling.discard((provider, session_id))

    async def _poll_one(self, provider: Provider, session_id: str) -> None:
        async with self._limit:
            try:
                snap = await self.store.get_snapshot(provider, session_id)
                if snap is not None and self._done(snap.session.status, snap.changed_at):
                    await self.store.forget_live(provider, session_id)
                    return
                owner = snap.driver_id if snap else None
                try:
                    got = await self.refresh(provider, session_id, owner)
                except ProviderNotFound:
                    got = None
                except ProviderError as exc:
                    log.info("poll of %s:%s failed: %s", provider, session_id, exc)
                    await self.store.touch(provider, session_id)  # not again at once
                else:
                    if got is None:
                        # The provider no longer knows it (unknown or expired): the snapshot
                        # keeps the last known state, and polling it again cannot help.
                        await self.store.forget_live(provider, session_id)
                    elif got.status in FINAL:
                        await self.store.forget_live(provider, session_id)
                lease_ms = max(1, int(self.settings.poll_interval_seconds * 800))
                await self._shorten(
                    keys=[_lease_key(provider, session_id)], args=[self._token, lease_ms]
                )
            except (RedisError, OSError) as exc:
                self._catch_up = True
                log.warning("poll of %s:%s failed: %s", provider, session_id, exc)
            except Exception:
                log.exception("poll of %s:%s failed", provider, session_id)

    def _done(self, status: object, changed_at: float) -> bool:
        return status in FINAL or self.store.now() - changed_at > self.give_up_seconds

    async def _lease(self, provider: Provider, session_id: str) -> bool:
        ms = max(1, int(self.settings.poll_lease_seconds * 1000))
        got = await self._lease_script(
            keys=[_lease_key(provider, session_id)], args=[self._token, ms]
        )
        return bool(got)

    async def _budget(self, provider: Provider) -> bool:
        limit = self.budgets.get(provider)
        if limit is None:
            return True
        took = await self._take(
            keys=[keys.poll_budget(provider)],
            args=[limit, uuid.uuid4().hex, keys.POLL_BUDGET_TTL_MS],
        )
        return bool(took)


def _lease_key(provider: Provider, session_id: str) -> str:
    return keys.poll_lease(keys.session_key(provider, session_id))
