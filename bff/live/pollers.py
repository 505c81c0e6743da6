"""Background polling of live sessions: fresh values for watchers, the safety net under
webhooks.

Every round (``poll_interval_seconds``, or ``watched_poll_seconds`` when shorter) each
replica looks at the live set in Redis and refreshes, in this order:

- every live session someone watches (:mod:`bff.live.watchers`, any replica) at a provider
  whose webhooks carry no meter values (:func:`bff.providers.registry.polled_when_watched`),
  every ``watched_poll_seconds``: the ones watched longest without a fresh value first;
- every live session of a provider that sends no lifecycle webhooks (its registry
  entry: :func:`bff.providers.registry.always_polled`), and
- every live session of any provider not heard of (nor polled) for
  ``quiet_poll_after_seconds`` (webhooks get lost; a session STARTING past the start
  timeout stays watched too).

A lease in Redis (:func:`bff.store.keys.poll_lease`) lets one replica poll a session per
interval; a sliding-window budget per provider, shared in Redis, keeps all replicas
together under the provider's rate limit (its entry's ``poll_budget_per_minute``): when it
cannot cover every session due, the rest wait for a later round, and unwatched sessions
get only what the watched ones (at their interval) leave of it. A
session leaves the live set when final, or when nothing changed for ``give_up_seconds``.
What each replica polled, deferred and sees of the budget is on ``/metrics``
(:mod:`bff.live.poll_metrics`).

After Redis trouble (webhooks answered 503 meanwhile, and Plugsurfing never resends) the
first good round is a catch-up: every live session is due, quiet or not, and a lease this
replica left behind in the aborted round is taken back at once instead of waiting it out.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping

from redis.exceptions import RedisError

from bff.domain.model import ChargingSession, Provider
from bff.domain.reconcile import FINAL
from bff.errors import ProviderError, ProviderNotFound
from bff.live.snapshots import SnapshotStore
from bff.live.watchers import Watchers
from bff.observability.tracing import Tracing
from bff.providers import registry
from bff.settings import Settings
from bff.store import keys
from bff.store.client import AnyRedis
from bff.tasks import stop

log = logging.getLogger(__name__)

Refresh = Callable[[Provider, str, str | None], Awaitable[ChargingSession | None]]


#: Why a session was polled (the ``why`` label of ``bff_polls_total``).
WATCHED, ALWAYS, QUIET, CATCH_UP = "watched", "always", "quiet", "catch_up"

# Take one slot in a sliding one-minute window, or answer 0 when it is full; then the
# slots in use.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - 60000)
local used = redis.call('ZCARD', KEYS[1])
if used >= tonumber(ARGV[1]) then return {0, used} end
redis.call('ZADD', KEYS[1], t, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used + 1}
"""
# The slots of the window in use (polls of the last minute, every replica's).
_USED = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], t - 60000, '+inf')
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
        watchers: Watchers | None = None,
        give_up_seconds: float = 12 * 3600,
        concurrency: int = 8,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.tracing = tracing  # each poll a trace of its own
        self.redis = redis
        self.store = store
        self.refresh = refresh
        self.providers = tuple(providers)
        defaults = registry.poll_budgets() if budgets is None else budgets
        self.budgets = {**defaults, **settings.poll_budgets}
        self.always_polled = registry.always_polled()
        self.when_watched = registry.polled_when_watched()
        self.watchers = watchers
        self.give_up_seconds = give_up_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._token = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._take = redis.register_script(_TAKE)
        self._lease_script = redis.register_script(_LEASE)
        self._catch_up = False  # Redis failed us: the next round polls every live session
        self._polling: set[tuple[Provider, str]] = set()  # in flight in this process
        self._shorten = redis.register_script(_SHORTEN)
        self._used = redis.register_script(_USED)
        # What /metrics shows (bff.live.poll_metrics), as of this replica's last round.
        self.polls: Counter[tuple[Provider, str]] = Counter()  # (provider, why)
        self.deferred: Counter[Provider] = Counter()  # due, but the budget was full
        self.budget_used: dict[Provider, int] = {}  # polls of the last minute, all replicas
        self.watched: dict[Provider, int] = {}  # sessions watched on any replica

    @property
    def round_seconds(self) -> float:
        """Seconds between rounds: the shorter of the two intervals."""
        return min(self.settings.poll_interval_seconds, self.settings.watched_poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-poller")

    async def aclose(self) -> None:
        if self._task is not None:
            await stop(self._task)
            self._task = None

    def catch_up(self) -> None:
        """Poll every live session at the next round, quiet or not (Redis lost them and
        got them back: their snapshots are gone)."""
        self._catch_up = True

    async def _run(self) -> None:
        interval = self.round_seconds
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
        due: list[tuple[Provider, str, str]] = []
        for provider in self.providers:
            candidates = await self._candidates(provider, catch_up)
            for i, (session_id, why) in enumerate(candidates):
                if (provider, session_id) in self._polling:
                    continue
                if not await self._lease(provider, session_id):
                    continue
                if not await self._budget(provider, why == WATCHED):
                    await self.redis.delete(_lease_key(provider, session_id))
                    self.deferred[provider] += len(candidates) - i
                    break
                due.append((provider, session_id, why))
            limit = self.budgets.get(provider)
            if limit is not None:
                self.budget_used[provider] = int(
                    await self._used(keys=[keys.poll_budget(provider)])
                )
        if catch_up:
            log.info("poll catch-up after Redis trouble: %d sessions", len(due))
            self._catch_up = False
        await asyncio.gather(*(self._poll(p, sid, why) for p, sid, why in due))
        return [(p, sid) for p, sid, _ in due]

    async def _candidates(self, provider: Provider, catch_up: bool) -> list[tuple[str, str]]:
        """The provider's sessions due now, in order, each with why: the watched ones not
        heard of for a watched interval (longest watched without a fresh value first), then
        the others (oldest heard of first). Leases keep other replicas off them."""
        always = provider in self.always_polled
        quiet = None if catch_up or always else self.settings.quiet_poll_after_seconds
        rows = await self.store.live_sessions(provider, quiet)
        out: list[tuple[str, str]] = []
        if self.watchers is not None and provider in self.when_watched:
            watched = await self.watchers.watched(provider)
            self.watched[provider] = len(watched)
            heard = await self.store.heard(provider, list(watched))
            # Heard of (or polled) less than half an interval ago: not due yet. Half: the
            # last poll was heard of when it ended, up to a loaded round's length after it
            # began; rounds (here) and leases (elsewhere) keep the interval.
            upto = self.store.now() - 0.5 * self.settings.watched_poll_seconds
            waiting = sorted((max(since, heard[sid]), sid) for sid, since in watched.items()
                             if sid in heard and heard[sid] <= upto)  # fmt: skip
            out = [(sid, WATCHED) for _, sid in waiting]
        why = CATCH_UP if catch_up else ALWAYS if always else QUIET
        first = {sid for sid, _ in out}
        out += [(sid, why) for sid, _ in rows if sid not in first]
        return out

    async def _poll(self, provider: Provider, session_id: str, why: str) -> None:
        self._polling.add((provider, session_id))
        self.polls[(provider, why)] += 1
        try:
            if self.tracing is None:
                await self._poll_one(provider, session_id, why)
            else:
                attributes = {"bff.provider": provider.value, "bff.session": session_id}
                with self.tracing.span("bff.poll", attributes):
                    await self._poll_one(provider, session_id, why)
        finally:
            self._polling.discard((provider, session_id))

    async def _poll_one(self, provider: Provider, session_id: str, why: str) -> None:
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
                    else:  # asked just now: not quiet, and fresh for the watched order
                        await self.store.touch(provider, session_id)
                interval = (
                    self.settings.watched_poll_seconds
                    if why == WATCHED
                    else self.settings.poll_interval_seconds
                )
                lease_ms = max(1, int(interval * 800))
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

    async def _budget(self, provider: Provider, watched: bool) -> bool:
        """A slot of the provider's budget. Polls of unwatched sessions leave what the
        watched ones need in a minute (every replica's): slots free up unevenly in a
        sliding window, and a burst of quiet polls would otherwise take them at the round
        where they free up, and starve the watched for the minute after."""
        limit = self.budgets.get(provider)
        if limit is None:
            return True
        if not watched:
            need = self.watched.get(provider, 0) * 60 / self.settings.watched_poll_seconds
            limit = max(0, limit - int(need))
        took, used = await self._take(
            keys=[keys.poll_budget(provider)],
            args=[limit, uuid.uuid4().hex, keys.POLL_BUDGET_TTL_MS],
        )
        self.budget_used[provider] = int(used)
        return bool(took)


def _lease_key(provider: Provider, session_id: str) -> str:
    return keys.poll_lease(keys.session_key(provider, session_id))
