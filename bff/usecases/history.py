"""A driver's sessions from every provider, newest first, behind one opaque cursor.

The cursor holds each provider's own position: for providers with a history API, their
cursor plus how many of that page were already shown; for the others, the creation time
of the last session shown from the per-driver index in Redis. One page costs at most one
upstream list call per history provider, plus fetches of index sessions that have no
snapshot yet (their snapshots are kept, so each is fetched once).

The page waits on its slowest provider, so what can be done while the providers answer
is not left until after: a history provider's list call is started before anything
else, and the records of that provider's sessions are read from the driver's index
meanwhile (see :func:`_own_all`); an index provider reads its records and snapshots
together.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bff.domain.model import ChargingSession, Provider, SessionFilter
from bff.errors import InvalidInput
from bff.resources import Resources
from bff.store.records import SessionRecord
from bff.usecases.partial import ProviderFailures, gather_providers
from bff.usecases.sessions import OwnedSession


@dataclass(frozen=True, slots=True)
class _Item:
    key: float  # sort time, newest first
    owned: OwnedSession
    after: dict[str, Any]  # this provider's position once this item has been shown


@dataclass(frozen=True, slots=True)
class HistoryEdge:
    owned: OwnedSession
    cursor: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    edges: list[HistoryEdge]
    has_next_page: bool


State = dict[str, dict[str, Any]]


def _encode(state: State) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> State:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and k in Provider.__members__ and isinstance(v, dict)
            for k, v in data.items()
        ):
            raise ValueError
        return data
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput("after is not a valid cursor", field="after") from None


#: Told of each provider's sessions as soon as they are known, before the page is cut:
#: a caller may start fetching what it will need for them (their chargers) while the
#: slower providers are still answering.
OnFound = Callable[[list[OwnedSession]], None]


async def session_history(
    resources: Resources,
    driver_id: str,
    first: int,
    after: str | None,
    filter: SessionFilter,
    failures: ProviderFailures,
    on_found: OnFound | None = None,
) -> HistoryPage:
    state = _decode(after) if after else {}
    providers = [
        p
        for p in resources.adapters
        if (filter.providers is None or p in filter.providers)
        and not state.get(p.value, {}).get("done")
    ]
    timeouts = {p: resources.settings.provider_timeout(p.value) for p in resources.adapters}

    def call(p: Provider) -> Any:
        st = state.get(p.value, {})
        if resources.adapters[p].has_history:
            return lambda: _told(_from_history(resources, p, driver_id, st, first, filter))
        return lambda: _told(_from_index(resources, p, driver_id, st, first, filter))

    async def _told(
        fetching: Awaitable[tuple[list[_Item], bool]],
    ) -> tuple[list[_Item], bool]:
        items, more = await fetching
        if on_found is not None:
            on_found([i.owned for i in items])
        return items, more

    fetched = await gather_providers({p: call(p) for p in providers}, failures, timeouts)

    candidates: list[tuple[_Item, Provider]] = []
    for p, (items, _more) in fetched.items():
        candidates.extend((i, p) for i in items)
    candidates.sort(key=lambda t: (-t[0].key, t[1].value, t[0].owned.session.id))
    page = candidates[:first]

    # Walk the page, advancing each provider's position, to give every edge its cursor.
    positions: State = {k: dict(v) for k, v in state.items()}
    edges: list[HistoryEdge] = []
    for item, p in page:
        positions[p.value] = item.after
        edges.append(HistoryEdge(item.owned, _encode(positions)))
    shown = {p: sum(1 for _, q in page if q == p) for p in fetched}
    more = any(sum(1 for _, q in candidates if q == p) > shown[p] or fetched[p][1] for p in fetched)
    return HistoryPage(edges, has_next_page=more)


async def _from_history(
    resources: Resources,
    p: Provider,
    driver_id: str,
    st: dict[str, Any],
    n: int,
    filter: SessionFilter,
) -> tuple[list[_Item], bool]:
    """Up to ``n`` sessions after the position; the position is (upstream cursor, skip).

    The provider filters upstream; one list call per page.
    """
    adapter = resources.adapters[p]
    cursor = st.get("c")
    skip = int(st.get("skip", 0))
    # Read while the provider answers (this task starts once the list call waits), so
    # that no Redis round trip follows the answer.
    known = asyncio.ensure_future(_known_records(resources, p, driver_id, skip + n + 1))
    known.add_done_callback(_retrieved)
    try:
        page = await adapter.list_sessions(driver_id, cursor, skip + n, filter)
    except BaseException:
        known.cancel()
        raise
    sessions = list(page.sessions[skip:])
    total = len(page.sessions)
    if sessions:
        owned = await _own_all(resources, p, driver_id, sessions, await known)
    else:
        known.cancel()
        owned = []
    items: list[_Item] = []
    for i, o in enumerate(owned):
        consumed = skip + i + 1
        if consumed >= total:
            after = {"c": page.next_cursor, "skip": 0} if page.next_cursor else {"done": True}
        else:
            after = {"c": cursor, "skip": consumed}
        items.append(_Item(o.session.sort_time.timestamp(), o, after))
    return items, page.next_cursor is not None


#: Index entries read ahead for a history provider's page, at most.
KNOWN_MAX = 200

#: Whether the index was read whole, and the records of the sessions read, by id.
Known = tuple[bool, dict[str, SessionRecord | None]]


async def _known_records(resources: Resources, p: Provider, driver_id: str, limit: int) -> Known:
    """The driver's newest ``limit`` sessions at ``p`` in the index, with their records."""
    limit = min(limit, KNOWN_MAX)
    rows = await resources.records.driver_keys(driver_id, p, limit=limit)
    records = await resources.records.get_many([(p, sid) for sid, _ in rows])
    return len(rows) < limit, {sid: rec for (sid, _), rec in zip(rows, records, strict=True)}


async def _own_all(
    resources: Resources,
    p: Provider,
    driver_id: str,
    sessions: list[ChargingSession],
    known: Known,
) -> list[OwnedSession]:
    """The listed sessions with their records (driver actions, profile). The provider's
    list is as fresh as it gets, so it is shown as listed.

    A record is saved together with its entry in its driver's index, and neither is ever
    removed: when ``known`` is the driver's whole index, a listed session it does not
    hold has no record of this driver's, and Redis is not asked again. Otherwise the
    sessions it does not hold are read by key.
    """
    whole, by_id = known
    missing = [] if whole else [s.id for s in sessions if s.id not in by_id]
    if missing:
        found = await resources.records.get_many([(p, sid) for sid in missing])
        by_id = {**by_id, **dict(zip(missing, found, strict=True))}
    return [OwnedSession(s, by_id.get(s.id), driver_id) for s in sessions]


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Mark a read-ahead's error as seen when the page failed before it was awaited."""
    if not task.cancelled():
        task.exception()


async def _from_index(
    resources: Resources,
    p: Provider,
    driver_id: str,
    st: dict[str, Any],
    n: int,
    filter: SessionFilter,
) -> tuple[list[_Item], bool]:
    """Up to ``n + 1`` matching sessions from the per-driver index, newest first.

    Sessions the filter rejects are skipped; the scan is bounded in rounds.
    """
    before = st.get("before")
    items: list[_Item] = []
    exhausted = False
    for _round in range(10):
        rows = await resources.records.driver_keys(driver_id, p, before=before, limit=n + 1)
        if len(rows) <= n:
            exhausted = True
        owned = await _index_sessions(resources, p, driver_id, rows)
        for (_sid, score), o in zip(rows, owned, strict=True):
            if o is not None and filter.matches(o.session):
                items.append(_Item(score, o, {"before": score}))
        if exhausted or len(items) > n or not rows:
            break
        before = rows[-1][1]
    return items[: n + 1], not exhausted or len(items) > n


async def _index_sessions(
    resources: Resources, p: Provider, driver_id: str, rows: list[tuple[str, float]]
) -> list[OwnedSession | None]:
    sessions = [(p, sid) for sid, _ in rows]
    records, snapshots = await asyncio.gather(
        resources.records.get_many(sessions), resources.hub.store.get_many(sessions)
    )
    adapter = resources.adapters[p]
    sem = asyncio.Semaphore(8)

    async def fetch(rec: SessionRecord | None) -> ChargingSession | None:
        if rec is None:
            return None
        async with sem:
            got = await adapter.get_session(rec.ref())
        return await resources.hub.record(got, driver_id) if got else None

    missing = [i for i, snap in enumerate(snapshots) if snap is None]
    fetched = await asyncio.gather(*(fetch(records[i]) for i in missing))
    for i, got in zip(missing, fetched, strict=True):
        snapshots[i] = got
    return [
        OwnedSession(snap, rec, driver_id) if snap is not None and rec is not None else None
        for snap, rec in zip(snapshots, records, strict=True)
    ]
