"""Fan-out: SessionHistory (20 a page) over three providers, each 50 ms away.

The floor is the upstream round trip the page cannot avoid: the requests the BFF sends
for a page, sent together straight to the sandbox with the same injected latency, until
the last of them has answered; its p50 over rounds in the same run. Those requests are
Plugsurfing's history list and, for the sessions listed from the BFF's own index, the
Plugchoice and roaming charger lookups; a lookup counts only for a provider the BFF
asked on at least half of the measured pages (chargers it keeps for a while cost no
request on most pages). All three providers live in one sandbox process, so the floor
counts the sandbox's own work on concurrent requests too (a 404 probe, reported
alongside, does not). Upstream requests per page come from each sandbox's
``/_control/stats``.

With ``BENCH_PROFILE=<dir>`` and py-spy on PATH, a further run of sequential pages
(after the measured ones, so as not to disturb them) is sampled into
``<dir>/fanout.txt``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast
from urllib.parse import quote, urlencode

import httpx
import redis.asyncio as aioredis

from bench.config import Config
from bench.httpload import _read_response, graphql_request
from bench.procs import BffProc
from bench.report import Section, progress
from bench.seed import seed_history
from bench.stack import Gql, Stack, running
from bff.domain.model import Provider
from bff.providers.plugsurfing.constants import TOKEN_PATH
from bff.providers.roaming.client import SERVICE_SUBJECT, RoamingClient
from bff.settings import Settings
from bff.store.records import SessionRecords

PROVIDERS = ("plugsurfing", "plugchoice", "roaming")
LATENCY_MS = 50
FIRST = 20


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


async def _index_chargers(redis_url: str, driver: str, provider: Provider) -> list[str]:
    """The charger ids of the sessions a page lists from the BFF's index (at most
    ``FIRST + 1`` of them, newest first), as the BFF asks the provider for them."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        records = SessionRecords(client)
        rows = await records.driver_keys(driver, provider, limit=FIRST + 1)
        found = await records.get_many([(provider, sid) for sid, _ in rows])
    finally:
        await client.aclose()
    return list(dict.fromkeys(r.charger_id for r in found if r and r.charger_id))


def _upstream_requests(stack: Stack, driver: str) -> dict[str, bytes]:
    """The page's upstream requests by provider, as raw HTTP/1.1 to the sandbox."""
    settings = Settings()
    sandbox = stack.sandbox.url
    token = httpx.post(
        f"{sandbox}/plugsurfing{TOKEN_PATH}",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.plugsurfing_client_id,
            "client_secret": settings.plugsurfing_client_secret.get_secret_value(),
        },
    ).json()["access_token"]
    roaming_token = RoamingClient(
        cast(Any, None), settings.roaming_jwt_secret.get_secret_value(), 3600
    ).token(SERVICE_SUBJECT)
    plugchoice = asyncio.run(_index_chargers(stack.redis.url, driver, Provider.PLUGCHOICE))
    roaming = asyncio.run(_index_chargers(stack.redis.url, driver, Provider.ROAMING))
    if not plugchoice or not roaming:
        raise RuntimeError("no index sessions with chargers: nothing to look up")

    def get(path: str, bearer: str | None) -> bytes:
        head = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{stack.sandbox.port}",
                "Accept: application/json"]  # fmt: skip
        if bearer:
            head.append(f"Authorization: Bearer {bearer}")
        return ("\r\n".join(head) + "\r\n\r\n").encode()

    return {
        "plugsurfing": get(
            f"/plugsurfing/drive/v1/users/{quote(driver, safe='')}/sessions?limit={FIRST}", token),
        "plugchoice": get("/plugchoice/api/v3/public-charging/chargers?" + urlencode(
            {"codes": ",".join(plugchoice)}), None),
        "roaming": get("/roaming/v1/evses?" + urlencode({"ids": ",".join(roaming)}),
                       roaming_token),
    }  # fmt: skip


async def _together_p50(port: int, requests: list[bytes], rounds: int) -> float:
    """p50 (ms) over ``rounds`` of: every request sent at once, each on its own
    keep-alive connection, until the last has answered."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in requests]

    async def one(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], req: bytes) -> None:
        reader, writer = conn
        writer.write(req)
        status, body = await asyncio.wait_for(_read_response(reader), 30)
        if status != 200:
            raise RuntimeError(f"upstream {req.split(b' ')[1]!r}: {status} {body[:200]!r}")

    out: list[float] = []
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            await asyncio.gather(*(one(c, r) for c, r in zip(conns, requests, strict=True)))
            out.append(time.perf_counter() - t0)
    finally:
        for _, writer in conns:
            writer.close()
    return _p(out, 0.5)


async def _probe_p50(stack: Stack, provider: str, n: int) -> float:
    """p50 (ms) of a request straight to one sandbox that does no work (the fault
    middleware delays every non-control path, this one answers 404 after the delay)."""
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


def _cold(
    stack: Stack,
    cfg: Config,
    section: Section,
    request: bytes,
    upstream: dict[str, bytes],
    pages: int,
) -> None:
    """Cold pages: a second worker on the same Redis and sandboxes that keeps no charger
    (``BFF_CHARGER_CACHE_SECONDS=0``), so every page asks all three providers; its floor
    is all three of the page's upstream calls sent together, i.e. the slowest of them."""
    cold = BffProc({**stack.bff.env, "BFF_CHARGER_CACHE_SECONDS": "0"})
    cold.start()
    try:
        req = request.replace(
            f"Host: 127.0.0.1:{stack.bff.port}".encode(), f"Host: 127.0.0.1:{cold.port}".encode()
        )
        asyncio.run(_sequential(cold.port, req, 3))  # the process warm, not its cache
        for i in range(cfg.repeats):
            before = _totals(stack)
            lat = asyncio.run(_sequential(cold.port, req, pages))
            after = _totals(stack)
            per_page = {p: (after[p] - before[p]) / pages for p in PROVIDERS}
            floor = asyncio.run(
                _together_p50(stack.sandbox.port, [upstream[p] for p in PROVIDERS], 20)
            )
            p50 = _p(lat, 0.5)
            section.row(
                "cold page (no charger kept, all three providers asked): SessionHistory p50 "
                "/ the slowest of the page's upstream calls p50", "ratio", "≤ 1.2",
                lambda v: v <= 1.2, 2,
            ).add(p50 / floor)  # fmt: skip
            section.row("cold page: SessionHistory p50", "ms").add(p50)
            section.row("cold page: SessionHistory p99", "ms").add(_p(lat, 0.99))
            section.row("cold page: the page's three upstream calls together, p50 (floor)",
                        "ms").add(floor)  # fmt: skip
            for p in PROVIDERS:
                section.row(f"cold page: upstream requests per page: {p}", "req",
                            digits=2).add(per_page[p])  # fmt: skip
            progress(
                f"fan-out cold {i + 1}/{cfg.repeats}: p50 {p50:.1f} ms vs the slowest upstream "
                f"{floor:.1f} ms ({p50 / floor:.2f}x), per page {per_page}"
            )
    finally:
        cold.stop()


def run(cfg: Config) -> Section:
    section = Section(
        "Fan-out over three providers",
        f"`SessionHistory(first: {FIRST})` of a driver with sessions at all three providers "
        f"(Plugsurfing through its history API, Plugchoice and roaming from the BFF's "
        f"index, their chargers looked up), each sandbox answering every request "
        f"{LATENCY_MS} ms late; one request at a time. Floor: p50 of the page's own "
        f"upstream requests (the history list, and the charger lookup of each index "
        f"provider the BFF asked on at least half of the pages: it keeps chargers for a "
        f"while) sent together straight to the sandbox, until the last answers, same "
        f"delay, same run; it includes the sandbox's work on them (all three providers "
        f"share one process). The slowest 404 probe, which does no work, is shown for "
        f"comparison. These are warm pages: the BFF keeps chargers for "
        f"`BFF_CHARGER_CACHE_SECONDS`, so most pages ask only Plugsurfing. The cold-page rows "
        f"come from a second worker on the same Redis and sandboxes that keeps no charger "
        f"(`BFF_CHARGER_CACHE_SECONDS=0`): every page asks all three providers, and its "
        f"floor is the slowest of the page's three upstream calls (all sent together).",
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
            page = gql.op("SessionHistory", first=FIRST)
            providers = {e["node"]["provider"] for e in page["viewer"]["sessions"]["edges"]}
            if len(providers) != 3:
                raise RuntimeError(f"a page of {FIRST} should mix all providers: {providers}")
            request = graphql_request(
                stack.bff.port,
                {"query": gql.ops["SessionHistory"], "variables": {"first": FIRST},
                 "operationName": "SessionHistory"},
                gql.token,
            )  # fmt: skip
            upstream = _upstream_requests(stack, gql.driver)
        finally:
            gql.close()
        for p in PROVIDERS:
            stack.sandbox.control(p, "/_control/faults", {"latency_ms": LATENCY_MS})
        asyncio.run(_sequential(stack.bff.port, request, 3))  # warm
        for i in range(cfg.repeats):
            before = _totals(stack)
            lat = asyncio.run(_sequential(stack.bff.port, request, pages))
            after = _totals(stack)
            per_page = {p: (after[p] - before[p]) / pages for p in PROVIDERS}
            asked = [p for p in PROVIDERS if p == "plugsurfing" or per_page[p] >= 0.5]
            floor = asyncio.run(_together_p50(stack.sandbox.port, [upstream[p] for p in asked], 20))
            probe = max(asyncio.run(_probe_p50(stack, p, 20)) for p in PROVIDERS)
            p50 = _p(lat, 0.5)
            section.row(
                "SessionHistory p50 / the page's upstream p50", "ratio", "≤ 1.2",
                lambda v: v <= 1.2, 2,
            ).add(p50 / floor)  # fmt: skip
            section.row("SessionHistory p50", "ms").add(p50)
            section.row("SessionHistory p99", "ms").add(_p(lat, 0.99))
            section.row("the page's upstream requests together, p50 (floor)", "ms").add(floor)
            section.row("slowest 404 probe p50 (no sandbox work)", "ms").add(probe)
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
                f"({'+'.join(asked)}) ({p50 / floor:.2f}x; 404 probe {probe:.1f} ms), "
                f"per page {per_page}"
            )
        _cold(stack, cfg, section, request, upstream, pages)
        # Bounded in time by py-spy's own duration, and in count: at most one page per
        # upstream delay of the profile's duration.
        seconds = int(cfg.seconds(10, 5))
        spy = stack.bff.profile("fanout", seconds)
        if spy is not None:
            asyncio.run(_sequential(stack.bff.port, request, seconds * 1000 // LATENCY_MS))
            spy.wait(30)
    return section
