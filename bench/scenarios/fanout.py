"""Fan-out: SessionHistory (20 a page) over three providers, each 50 ms away.

The floor is the slowest upstream: the p50 of a request straight to each sandbox with
the same injected latency, measured in the same run. Upstream requests per page come
from each sandbox's ``/_control/stats``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.config import Config
from bench.httpload import _read_response, graphql_request
from bench.report import Section, progress
from bench.seed import seed_history
from bench.stack import Gql, Stack, running

PROVIDERS = ("plugsurfing", "plugchoice", "roaming")
LATENCY_MS = 50


def _p(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def _sequential(port: int, request: bytes, n: int) -> list[float]:
    """``n`` requests one after another on one keep-alive connection; their latencies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out: list[float] = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            writer.write(request)
            status, body = await asyncio.wait_for(_read_response(reader), 30)
            out.append(time.perf_counter() - t0)
            if status != 200 or b'"errors"' in body:
                raise RuntimeError(f"{status}: {body[:300]!r}")
    finally:
        writer.close()
    return out


async def _upstream_p50(stack: Stack, provider: str, n: int) -> float:
    """p50 (ms) of a request straight to one sandbox (the fault middleware delays every
    non-control path, this one answers 404 after the delay)."""
    port = stack.sandbox.port
    req = f"GET /{provider}/bench-probe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out: list[float] = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            writer.write(req)
            await asyncio.wait_for(_read_response(reader), 30)
            out.append(time.perf_counter() - t0)
    finally:
        writer.close()
    return _p(out, 0.5)


def _totals(stack: Stack) -> dict[str, int]:
    out = {}
    for p in PROVIDERS:
        stats: Any = stack.sandbox.control(p, "/_control/stats")
        out[p] = int(stats.get("total", 0))
    return out


def run(cfg: Config) -> Section:
    section = Section(
        "Fan-out over three providers",
        f"`SessionHistory(first: 20)` of a driver with sessions at all three providers "
        f"(Plugsurfing through its history API, Plugchoice and roaming from the BFF's "
        f"index), each sandbox answering every request {LATENCY_MS} ms late; one request "
        f"at a time. Floor: p50 of a request straight to each sandbox, same delay, same run.",
    )
    pages = cfg.count(60, 15)
    with running() as stack:
        gql = Gql(stack.bff.url, "bench-fanout")
        try:
            progress("fan-out: seeding 8 + 10 + 10 sessions")
            asyncio.run(
                seed_history(stack.sandbox, stack.redis.url, gql.driver,
                             {"plugsurfing": 8, "plugchoice": 10, "roaming": 10})
            )  # fmt: skip
            page = gql.op("SessionHistory", first=20)
            providers = {e["node"]["provider"] for e in page["viewer"]["sessions"]["edges"]}
            if len(providers) != 3:
                raise RuntimeError(f"a page of 20 should mix all providers: {providers}")
            request = graphql_request(
                stack.bff.port,
                {"query": gql.ops["SessionHistory"], "variables": {"first": 20},
                 "operationName": "SessionHistory"},
                gql.token,
            )  # fmt: skip
        finally:
            gql.close()
        for p in PROVIDERS:
            stack.sandbox.control(p, "/_control/faults", {"latency_ms": LATENCY_MS})
        asyncio.run(_sequential(stack.bff.port, request, 3))  # warm
        for i in range(cfg.repeats):
            floor = max(asyncio.run(_upstream_p50(stack, p, 20)) for p in PROVIDERS)
            before = _totals(stack)
            lat = asyncio.run(_sequential(stack.bff.port, request, pages))
            after = _totals(stack)
            per_page = {p: (after[p] - before[p]) / pages for p in PROVIDERS}
            p50 = _p(lat, 0.5)
            section.row(
                "SessionHistory p50 / slowest upstream p50", "ratio", "≤ 1.2", lambda v: v <= 1.2, 2
            ).add(p50 / floor)
            section.row("SessionHistory p50", "ms").add(p50)
            section.row("SessionHistory p99", "ms").add(_p(lat, 0.99))
            section.row("slowest upstream p50 (floor)", "ms").add(floor)
            section.row(
                "upstream requests per page, most of one provider",
                "req",
                "≤ 2",
                lambda v: v <= 2,
                2,
            ).add(max(per_page.values()))
            for p in PROVIDERS:
                section.row(f"upstream requests per page: {p}", "req", digits=2).add(per_page[p])
            progress(
                f"fan-out {i + 1}/{cfg.repeats}: p50 {p50:.1f} ms vs upstream {floor:.1f} ms "
                f"({p50 / floor:.2f}x), per page {per_page}"
            )
    return section
