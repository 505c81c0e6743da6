"""How a subscription resolver runs under the shared-subscription transport.

Subscribers that asked for the same thing (operation, variables, driver) share one
*feed*: one resolver run that follows the channel and one GraphQL execution per update
(:mod:`bff.graphql.fanout`). Each subscriber still runs the resolver once on its own, for
its ownership check and its current snapshot. :class:`LiveRun` on the context tells the
resolver which of the two it is doing, and carries back what the transport needs: when
the feed is subscribed, and which snapshot each result was made from (to send nothing
twice and never an older state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bff.domain.reconcile import FINAL
from bff.live.codec import Snapshot
from bff.store.records import SessionRecord, session_key
from bff.waiting import Flag

#: Orders the states of one session: the provider's time, then the snapshot's version.
Mark = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class Marked:
    """Which snapshot a result was made from."""

    key: str  # the session, ``{provider}:{id}``
    mark: Mark
    changed_at: float
    final: bool

    @classmethod
    def of(cls, snap: Snapshot) -> Marked:
        s = snap.session
        return cls(
            session_key(s.provider, s.id),
            (s.observed_at, snap.version),
            snap.changed_at,
            s.status in FINAL,
        )


class LiveRun:
    """One resolver run for the shared transport: the feed's (``live``, no catch-up)
    or a subscriber's own (``initial``, catch-up only)."""

    __slots__ = ("_record", "authorized", "event", "initial", "ready")

    def __init__(self, *, initial: bool) -> None:
        self.initial = initial
        self.ready = Flag()  # the resolver passed its checks and is subscribed
        self.authorized = False
        self.event: Marked | None = None  # the snapshot behind the result just yielded
        self._record: tuple[SessionRecord | None] | None = None

    def watch_options(self) -> dict[str, Any]:
        """Keywords for ``LiveHub.watch_session`` / ``watch_driver``."""
        return {"initial": self.initial, "live": not self.initial, "on_snapshot": self.mark}

    def subscribed(self) -> None:
        self.authorized = True
        self.ready.set()

    def mark(self, snap: Snapshot) -> None:
        self.event = Marked.of(snap)
        self._record = (snap.record,) if snap.carries_record else None

    def carried_record(self) -> tuple[SessionRecord | None] | None:
        """The record that came with the snapshot just marked, once (in a 1-tuple: it
        may be None); None when it did not come with one (then read it)."""
        record, self._record = self._record, None
        return record
