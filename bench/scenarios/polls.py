"""Demand-driven polling (issue 14): polls a minute against watched and unwatched sessions.

200 live sessions charging at the sandboxes (100 Plugsurfing, 100 roaming; seeded with the
simulators' ``/_control/seed`` ``live``, recorded as the BFF records a session it started),
20 of them watched by one LiveSession subscriber each (10 per provider). The BFF runs the
default poll settings (5 s rounds, watched every 5 s, quiet after 30 s), once with the
default budgets (120 a minute each) and once with budgets that cover every session. The
polls are the BFF's own requests to the providers, read from its upstream DEBUG lines
(``bff.observability.upstream``), counted per session over a window after a warm-up.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from bench.config import Config
from bench.procs import SandboxProc
from bench.report import Section, progress
from bench.stack import Stack, contract, running, token
from bench.wsclient import WsConn, open_subscription
from bff import ids
from bff.domain.model import Provider, SessionRef
from bff.live.snapshots import SnapshotStore
from bff.providers.registry import build_adapter
from bff.settings import Settings
from bff.store.records import SessionRecord, SessionRecords

PER_PROVIDER = 100
WATCHED_PER_PROVIDER = 10
DRIVER = "bench-polls"
_SESSION_IN_URL = re.compile(r"/sessions/([^/:\s]+)(?:/status)?: ")

#: The production poll settings (the stack's base quiets the pollers for other scenarios).
POLL_ENV = {
    "BFF_POLL_INTERVAL_SECONDS": "5",
    "BFF_WATCHED_POLL_SECONDS": "5",
    "BFF_QUIET_POLL_AFTER_SECONDS": "30",
    "BFF_LOG_LEVELS": json.dumps({"bff.observability.upstream": "DEBUG"}),
}
CASES = {
    "default budgets": {},
    "budgets covering all": {
        "BFF_POLL_BUDGETS": json.dumps({"PLUGSURFING": 5000, "ROAMING": 5000}),
    },
}


async def _seed(sandbox: SandboxProc, redis_url: str) -> dict[Provider, list[str]]:
    """Live sessions at both sandboxes, with the BFF's records and first snapshots."""
    made: dict[Provider, list[str]] = {
        Provider.PLUGSURFING: list(sandbox.control(  # type: ignore[call-overload]
            "plugsurfing", "/_control/seed",
            {"userId": DRIVER, "count": PER_PROVIDER, "live": True})["sessionIds"]),
        Provider.ROAMING: list(sandbox.control(  # type: ignore[call-overload]
            "roaming", "/_control/seed",
            {"user": DRIVER, "count": PER_PROVIDER, "live": True})["session_ids"]),
    }  # fmt: skip
    client = aioredis.Redis.from_url(redis_url)
    records, store = SessionRecords(client), SnapshotStore(client)
    try:
        for provider, sids in made.items():
            adapter, http = build_adapter(
                provider, f"{sandbox.url}/{provider.value.lower()}", Settings()
            )
            try:
                for sid in sids:
                    s = await adapter.get_session(SessionRef(DRIVER, sid))
                    assert s is not None, "the sandbox seeded it"
                    await records.save(SessionRecord(
                        provider=provider, session_id=sid, driver_id=DRIVER,
                        charger_id=s.charger_id, connector_id=s.connector_id,
                        created_at=s.sort_time,
                    ))  # fmt: skip
                    await store.upsert(s, DRIVER)
            finally:
                await http.aclose()
    finally:
        await client.aclose()
    return made


def _polls(log_text: str, since: float, until: float) -> dict[str, int]:
    """Provider reads per session id between ``since`` and ``until`` (epoch seconds)."""
    counts: dict[str, int] = {}
    for line in log_text.splitlines():
        if '"upstream GET' not in line:
            continue
        entry = json.loads(line)
        at = datetime.fromisoformat(entry["ts"]).timestamp()
        found = _SESSION_IN_URL.search(entry["msg"])
        if found and since <= at < until:
            counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    return counts


async def _watch(stack: Stack, made: dict[Provider, list[str]]) -> list[WsConn]:
    query = contract()["LiveSession"]
    tok = token(DRIVER)

    def ignore(conn: WsConn, msg: dict[str, Any], at: float) -> None:
        return None

    conns = []
    for provider, sids in made.items():
        for sid in sids[:WATCHED_PER_PROVIDER]:
            gid = ids.encode(ids.SESSION, provider, sid)
            conns.append(await open_subscription(
                "127.0.0.1", stack.bff.port, tok, query, {"id": gid}, ignore))  # fmt: skip
    return conns


def run(cfg: Config) -> Section:
    # The seeded sessions are all heard of at once: past a quiet interval and a budget
    # window (60 s) the polls run as they would for ever.
    warmup, window = cfg.seconds(90, 40), cfg.seconds(120, 60)
    section = Section(
        "Polls against watched and unwatched sessions",
        f"{2 * PER_PROVIDER} live sessions charging (Plugsurfing and roaming, "
        f"{PER_PROVIDER} each), {2 * WATCHED_PER_PROVIDER} watched by one LiveSession "
        f"subscriber each ({WATCHED_PER_PROVIDER} per provider); one `bff serve` at the "
        "default poll settings (watched every 5 s, quiet after 30 s), sandbox speed 1. "
        f"Provider reads per session counted from the BFF's upstream lines over {window:.0f} "
        f"s after a {warmup:.0f} s warm-up.",
    )
    for case, extra in CASES.items():
        for rep in range(cfg.repeats):
            with running({**POLL_ENV, **extra}) as stack:
                made = asyncio.run(_seed(stack.sandbox, stack.redis.url))
                _measure(stack, made, case, warmup, window, section, rep, cfg.repeats)
    section.notes.append(
        "Default budgets: each provider allows 120 polls a minute for all replicas; its 10 "
        "watched sessions due every 5 s need all of it, so they are polled (longest waiting "
        "first) and the unwatched wait until a watcher leaves (unwatched polls take only what "
        "the watched ones do not need). Budgets covering all: watched every 5-7 s, unwatched "
        "every 30 s (the quiet interval)."
    )
    return section


def _measure(stack: Stack, made: dict[Provider, list[str]], case: str, warmup: float,
             window: float, section: Section, rep: int, repeats: int) -> None:  # fmt: skip
    async def go() -> dict[str, int]:
        conns = await _watch(stack, made)
        try:
            await asyncio.sleep(warmup)
            since = time.time()
            await asyncio.sleep(window)
            return _polls(stack.bff.log_path.read_text(errors="replace"), since, time.time())
        finally:
            for c in conns:
                c.abort()

    counts = asyncio.run(go())
    per_min = 60 / window
    rates: dict[str, list[float]] = {"watched": [], "unwatched": []}
    for provider, sids in made.items():
        watched = [counts.get(s, 0) * per_min for s in sids[:WATCHED_PER_PROVIDER]]
        unwatched = [counts.get(s, 0) * per_min for s in sids[WATCHED_PER_PROVIDER:]]
        rates["watched"] += watched
        rates["unwatched"] += unwatched
        total = sum(counts.get(s, 0) for s in sids) * per_min
        capped = case == "default budgets"
        section.row(f"{case}: {provider.value} polls a minute, all sessions", "polls/min",
                    "≤ 120" if capped else "", (lambda v: v <= 120) if capped else None,
                    digits=0).add(total)  # fmt: skip
    watched_row = section.row(
        f"{case}: watched session, polls a minute", "polls/min/session",
        "≥ 6" if case == "budgets covering all" else "",
        (lambda v: v >= 6) if case == "budgets covering all" else None,
    )
    watched_row.add(statistics.mean(rates["watched"]))
    section.row(f"{case}: watched session, fewest polls a minute", "polls/min/session").add(
        min(rates["watched"])
    )
    section.row(f"{case}: unwatched session, polls a minute", "polls/min/session").add(
        statistics.mean(rates["unwatched"])
    )
    progress(
        f"polls {case} {rep + 1}/{repeats}: watched {statistics.mean(rates['watched']):.1f}"
        f"/min (min {min(rates['watched']):.1f}), unwatched "
        f"{statistics.mean(rates['unwatched']):.2f}/min"
    )
