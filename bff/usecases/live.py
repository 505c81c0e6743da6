"""A driver following their sessions: each state with what orders it.

The GraphQL layer turns each :class:`LiveState` into a result; ``order`` and
``changed_at`` travel with it so that no subscriber gets an older state after a newer
one, nor the same one twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bff.domain.model import Provider
from bff.domain.reconcile import FINAL
from bff.live.codec import Snapshot
from bff.resources import Resources
from bff.store import keys
from bff.usecases.sessions import OwnedSession


@dataclass(frozen=True, slots=True)
class LiveState:
    owned: OwnedSession
    #: The session, ``{provider}:{id}``.
    key: str
    #: The provider's time of this state, then the snapshot's version.
    order: tuple[datetime, int]
    #: Our clock (epoch seconds) of the last material change.
    changed_at: float

    @property
    def final(self) -> bool:
        return self.owned.session.status in FINAL


async def _states(
    resources: Resources, driver_id: str, snaps: AsyncIterator[Snapshot], owners_only: bool
) -> AsyncIterator[LiveState]:
    async for snap in snaps:
        s = snap.session
        record = snap.record if snap.carries_record else await resources.records.get(
            s.provider, s.id
        )
        if owners_only and record is not None and record.driver_id != driver_id:
            continue
        yield LiveState(
            OwnedSession(s, record, driver_id),
            keys.session_key(s.provider, s.id),
            (s.observed_at, snap.version),
            snap.changed_at,
        )


@asynccontextmanager
async def follow_session(
    resources: Resources, driver_id: str, provider: Provider, session_id: str
) -> AsyncIterator[AsyncIterator[LiveState]]:
    """The session's current state (if any), then each newer one (ownership is the
    caller's check, before following)."""
    async with resources.hub.watch_session(provider, session_id) as snaps:
        yield _states(resources, driver_id, snaps, owners_only=False)


@asynccontextmanager
async def follow_driver(
    resources: Resources, driver_id: str
) -> AsyncIterator[AsyncIterator[LiveState]]:
    """The driver's live sessions now, then every newer state of any of their sessions."""
    async with resources.hub.watch_driver(driver_id) as snaps:
        yield _states(resources, driver_id, snaps, owners_only=True)
