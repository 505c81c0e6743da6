"""Queries on one worker: SessionDetail of a live session and SessionHistory (20 a page)
beside the framework's floor, ``{ __typename }``, on the same server in the same run."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.config import Config
from bench.httpload import graphql_request, run_load
from bench.report import Section, progress
from bench.stack import WARSAW, Gql, Stack, running

PROVIDERS = ("plugsurfing", "plugchoice", "roaming")


def upstream(stack: Stack) -> dict[str, int]:
    """Requests each sandbox has answered so far, by kind: session reads, charger
    reads, everything."""
    out = {"sessions": 0, "chargers": 0, "total": 0}
    for p in PROVIDERS:
        stats: Any = stack.sandbox.control(p, "/_control/stats")
        for route, n in stats.items():
            if route == "total":
                out["total"] += int(n)
            elif "session" in route:
                out["sessions"] += int(n)
            elif "evse" in route or "charger" in route:
                out["chargers"] += int(n)
    return out


def run(cfg: Config) -> Section:
    section = Section(
        "Queries on one worker",
        "One `bff serve` worker; a closed loop of 16 keep-alive connections per operation, "
        "the three operations one after another in each repetition. The live session is a "
        "Plugsurfing session in CHARGING; the history has 40 sessions (a page of 20).",
    )
    seconds = cfg.seconds(5, 1.5)
    with running() as stack:
        gql = Gql(stack.bff.url, "bench-queries")
        try:
            progress("queries: seeding 40 sessions and starting a live one")
            stack.sandbox.control(
                "plugsurfing", "/_control/seed", {"userId": gql.driver, "count": 40}
            )
            started = gql.start(gql.connector(WARSAW, "PLUGSURFING", skip=1))
            sid = started["session"]["id"]
            gql.wait_status(sid, "CHARGING")
            ops = gql.ops
        finally:
            gql.close()
        port = stack.bff.port
        requests = {
            "trivial `{ __typename }`": graphql_request(
                port, {"query": "{ __typename }"}, gql.token
            ),
            "SessionDetail (live)": graphql_request(
                port,
                {
                    "query": ops["SessionDetail"],
                    "variables": {"id": sid},
                    "operationName": "SessionDetail",
                },
                gql.token,
            ),
            "SessionHistory (20)": graphql_request(
                port,
                {
                    "query": ops["SessionHistory"],
                    "variables": {"first": 20},
                    "operationName": "SessionHistory",
                },
                gql.token,
            ),
        }
        for req in requests.values():  # warm-up: caches, connections, pools
            asyncio.run(run_load(port, req, seconds=1, concurrency=4, max_requests=400))
        for i in range(cfg.repeats):
            rps: dict[str, float] = {}
            for name, req in requests.items():
                before = upstream(stack)
                label = f"queries-{name.split()[0].lower()}"
                spy = stack.bff.profile(f"{label}-{i + 1}", seconds)
                res = asyncio.run(run_load(port, req, seconds=seconds, concurrency=16))
                if spy is not None:
                    spy.wait(30)
                after = upstream(stack)
                per = {k: (after[k] - before[k]) / max(1, res.requests) for k in after}
                if res.errors:
                    raise RuntimeError(f"{name}: {res.errors} errors, e.g. {res.sample!r}")
                rps[name] = res.rps
                section.row(f"{name} req/s", "req/s", digits=0).add(res.rps)
                section.row(f"{name} p50", "ms", digits=2).add(res.pct(0.5))
                section.row(f"{name} p99", "ms", digits=2).add(res.pct(0.99))
                section.row(f"{name} upstream requests per request", "req", digits=2).add(
                    per["total"]
                )
                if name.startswith("SessionDetail"):
                    section.row(
                        "SessionDetail (live): upstream session reads per request (snapshot)",
                        "req",
                        "0",
                        lambda v: v == 0,
                        2,
                    ).add(per["sessions"])
                    section.row(
                        "SessionDetail (live): upstream charger reads per request",
                        "req",
                        digits=2,
                    ).add(per["chargers"])
                progress(
                    f"queries {i + 1}/{cfg.repeats}: {name}: {res.rps:.0f} req/s, "
                    f"p50 {res.pct(0.5):.2f} ms, p99 {res.pct(0.99):.2f} ms, "
                    f"upstream/req {per['total']:.2f} (sessions {per['sessions']:.2f}, "
                    f"chargers {per['chargers']:.2f})"
                )
            trivial = rps["trivial `{ __typename }`"]
            section.row(
                "SessionDetail (live) / trivial req/s", "ratio", "≥ 0.8", lambda v: v >= 0.8, 2
            ).add(rps["SessionDetail (live)"] / trivial)
            section.row("SessionHistory (20) / trivial req/s", "ratio", digits=2).add(
                rps["SessionHistory (20)"] / trivial
            )
    # Rows in a readable order: ratios first.
    section.rows.sort(key=lambda r: 0 if "/ trivial" in r.name else 1)
    return section
