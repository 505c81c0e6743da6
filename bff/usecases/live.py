"""A driver following their sessions: each state with what orders it.

The GraphQL layer turns each :class:`LiveState` into a result; ``order`` and
``changed_at`` travel with it so that no subscriber gets an older state after a newer
one, nor the same one twice. This is the live charging screen's hot path: a state is
made synchronously from a published message (which carries the session's record), and
only a state read from the store needs the record read (:func:`state`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bff.domain.model import Provider
from bff.domain.reconcile import FINAL
from bff.errors import NotFound
from bff.live.codec import Snapshot
from bff.resources import Resources
from bff.store.records import SessionRecord
from bff.usecases.sessions import OwnedSession, owned_session


@dataclass(frozen=True, slots=True)
class LiveState:
    owned: OwnedSession
    #: The session, ``{provider}:{id}`` (a key within this process, not a Redis key).
    key: str
    #: The provider's time of this state, then the snapshot's version.
    order: tuple[datetime, int]
    #: Our clock (epoch seconds) of the last material change.
    changed_at: float

    @property
    def final(self) -> bool:
        return self.owned.session.status in FINAL

    @property
    def owner(self) -> str | None:
        """Who the BFF's record says owns the session (None: no record)."""
        record = self.owned.record
        return record.driver_id if record is not None else None


def state(resources: Resources, driver_id: str, snap: Snapshot) -> LiveState | Awaitable[LiveState]:
    """The state of ``snap`` for ``driver_id``: at once when the snapshot came with its
    record (a published message), else an awaitable that reads the record first."""
    if snap.carries_record:
        return _state(driver_id, snap, snap.record)
    return _read(resources, driver_id, snap)


async def _read(resources: Resources, driver_id: str, snap: Snapshot) -> LiveState:
    s = snap.session
    return _state(driver_id, snap, await resources.records.get(s.provider, s.id))


def _state(driver_id: str, snap: Snapshot, record: SessionRecord | None) -> LiveState:
    s = snap.session
    return LiveState(
        OwnedSession(s, record, driver_id),
        f"{s.provider.value}:{s.id}",
        (s.observed_at, snap.version),
        snap.changed_at,
    )


@asynccontextmanager
async def follow_session(
    resources: Resources, driver_id: str, provider: Provider, session_id: str
) -> AsyncIterator[AsyncIterable[Snapshot]]:
    """The driver's session now, then each newer state (:func:`state` makes each a
    :class:`LiveState`); raises NotFound, before anything is yielded, when it is unknown
    or someone else's. Subscribed first, then one read of the snapshot and its record
    serves both the ownership check and the first state."""
    async with resources.hub.watch_session(provider, session_id) as watch:
        snap, record = watch.snapshot, watch.record
        if snap is None or record is None or record.driver_id != driver_id:
            found = await owned_session(
                resources,
                driver_id,
                provider,
                session_id,
                snap.session if snap is not None else None,
                record,
            )
            if found is None:
                raise NotFound("no such session")
            watch.reread()  # the provider's answer may have changed it
        yield watch


@asynccontextmanager
async def follow_driver(
    resources: Resources, driver_id: str
) -> AsyncIterator[AsyncIterator[Snapshot]]:
    """The driver's live sessions now, then every newer state of any of their sessions
    (:func:`state`; a state whose record names another owner is not theirs)."""
    async with resources.hub.watch_driver(driver_id) as snaps:
        yield snaps
