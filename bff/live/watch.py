"""Following a channel for a watcher: the snapshots first, then each newer state.

Subscribed first, then read, so nothing published in between is lost; each session's
last sent state is tracked, so there are no duplicates and never an older state after a
newer one (ordered by the provider's ``observed_at``, then the snapshot's version). On
:data:`~bff.live.subscription.RESYNC` (the broker reconnected, or a slow reader's buffer
overflowed) the snapshots are read again, until Redis answers.

Each yielded :class:`~bff.live.codec.Snapshot` carries what orders it (version,
``observed_at``, ``changed_at``) and, from a published message, the session's record.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime

from redis.exceptions import RedisError

from bff.domain.model import ChargingSession
from bff.domain.reconcile import FINAL, is_material_change
from bff.live.codec import Snapshot, decode_snapshot
from bff.live.subscription import Resync, Subscription
from bff.store import keys

log = logging.getLogger(__name__)


async def follow(
    sub: Subscription,
    read: Callable[[], Awaitable[list[Snapshot]]],
    since: float | None,
    first: list[Snapshot] | None = None,
) -> AsyncGenerator[Snapshot, None]:
    """Snapshots from ``read()`` (or ``first``, already read after subscribing), then
    from the subscription, each newer than the last one sent for its session. With
    ``since``, a session first seen final is skipped unless it changed after ``since``
    (a driver's history is not news)."""
    sent: dict[str, tuple[tuple[datetime, int], ChargingSession]] = {}

    def fresh(snap: Snapshot) -> bool:
        s = snap.session
        key = keys.session_key(s.provider, s.id)
        mark = (s.observed_at, snap.version)
        prev = sent.get(key)
        if prev is None:
            if since is not None and s.status in FINAL and snap.changed_at < since:
                return False
            sent[key] = (mark, s)
            return True
        if mark <= prev[0]:
            return False
        sent[key] = (mark, s)
        return is_material_change(prev[1], s)

    async def catch_up(snaps: list[Snapshot] | None = None) -> list[Snapshot]:
        snaps = sorted(await read() if snaps is None else snaps, key=lambda x: x.changed_at)
        return [x for x in snaps if fresh(x)]

    for snap in await catch_up(first):
        yield snap
    async for item in sub:
        if isinstance(item, Resync):
            for snap in await _retrying(catch_up, sub):
                yield snap
            continue
        try:
            snap = decode_snapshot(item.message)
        except ValueError:
            log.warning("undecodable message on %s", item.channel)
            continue
        if fresh(snap):
            yield snap


#: Waits between attempts to re-read the snapshots after a RESYNC while Redis fails.
RETRY_INITIAL_SECONDS = 0.05
RETRY_MAX_SECONDS = 5.0


async def _retrying(
    catch_up: Callable[[], Awaitable[list[Snapshot]]], sub: Subscription
) -> list[Snapshot]:
    """``catch_up()`` until Redis answers (or the subscription closes: nothing).

    A follower serves every socket that shares its feed: one failed re-read must not
    end it for all of them. Messages that arrive meanwhile wait, conflated, in ``sub``.
    """
    delay = RETRY_INITIAL_SECONDS
    while True:
        try:
            return await catch_up()
        except RedisError as exc:
            if sub.closed:
                return []
            log.warning("re-reading snapshots failed (%s); again in %.2fs", exc, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, RETRY_MAX_SECONDS)
