"""Websocket subscribers at scale: (a) all on one session, (b) each on its own session.

Per case and repetition, a fresh ``bff serve`` worker; subscribers in separate client
processes. Figures: delivery latency p50/p99, server CPU per delivery, RSS per 1,000
idle subscribers, missed updates, duplicates, Redis connections of the server process.

(a) is driven by signed roaming webhooks posted to the server (2,000 deliveries/s =
2,000 / N webhooks a second); (b) by snapshot messages published on Redis as another
replica publishes them, 2,000 a second spread over the sessions (one worker cannot
also ingest 2,000 webhooks a second; see the webhook ingestion figures).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.config import Config
from bench.live import LiveSession, Publisher, create_sessions, roaming_webhook
from bench.pool import SubscriberPool
from bench.report import Section, progress
from bench.stack import Stack, contract, running, token

RATE = 2000  # deliveries a second


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def _post_webhooks(port: int, session: LiveSession, rate: float, seconds: float) -> int:
    """``rate`` webhooks a second for ``seconds`` on one keep-alive connection; how many
    were accepted."""
    from bench.httpload import _read_response

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    start, accepted = loop.time(), 0
    try:
        for k in range(max(1, int(rate * seconds))):
            await asyncio.sleep(max(0.0, start + k / rate - loop.time()))
            writer.write(roaming_webhook(session, port))
            status, body = await asyncio.wait_for(_read_response(reader), 10)
            if status != 200:
                raise RuntimeError(f"webhook answered {status}: {body[:200]!r}")
            accepted += 1
    finally:
        writer.close()
    return accepted


def _publish(
    redis_url: str, sessions: list[LiveSession], rate: float, seconds: float
) -> dict[str, int]:
    """``rate`` updates a second (any rate: what is due is sent every 10 ms), round robin
    over ``sessions``, ``rate`` x ``seconds`` in all; updates per session."""
    pub = Publisher(redis_url)
    sent: dict[str, int] = {}
    tick, total = 0.01, max(1, int(rate * seconds))
    start, done, k = time.monotonic(), 0, 0
    try:
        while done < total:
            time.sleep(max(0.0, start + k * tick - time.monotonic()))
            due = min(total, int(k * tick * rate) + 1) - done
            k += 1
            if due <= 0:
                continue
            batch = [sessions[(done + j) % len(sessions)] for j in range(due)]
            done += due
            pub.publish(batch)
            for s in batch:
                sent[s.sid] = sent.get(s.sid, 0) + 1
    finally:
        pub.close()
    return sent


def _case(
    stack: Stack, cfg: Config, section: Section, n: int, own: bool, sessions: list[LiveSession]
) -> None:
    label = f"{n:,} on {'own sessions' if own else 'one session'}"
    bff = stack.bff
    query = contract()["LiveSession"]
    procs = max(1, math.ceil(n / 1250))
    pool = SubscriberPool(procs)
    try:
        subs = [
            (token(s.driver), {"id": s.gid}, s.sid if own else f"{s.sid}#{i}")
            for i, s in enumerate(sessions if own else sessions * n)
        ]
        warm = 50

        def open_(part: list[Any]) -> int:
            cmds = [
                {
                    "cmd": "open",
                    "host": "127.0.0.1",
                    "port": bff.port,
                    "query": query,
                    "subs": part[k::procs],
                    "concurrency": 50,
                }
                for k in range(procs)
            ]
            replies = pool.each(cmds, timeout=600)
            failed = sum(r["failed"] for r in replies)
            if failed:
                raise RuntimeError(f"{failed} subscriptions failed: {replies[0]['sample']}")
            return sum(r["opened"] for r in replies)

        open_(subs[:warm])
        time.sleep(1)
        rss0 = bff.rss_kib()
        t0 = time.monotonic()
        opened = warm + open_(subs[warm:])
        progress(f"subscriptions {label}: {opened} subscribed in {time.monotonic() - t0:.1f}s")
        time.sleep(cfg.seconds(3, 1))
        rss1 = bff.rss_kib()
        conns = bff.redis_connections(stack.redis.url)

        def drive(seconds: float) -> dict[str, int]:
            if own:
                return _publish(stack.redis.url, sessions, RATE, seconds)
            accepted = asyncio.run(_post_webhooks(bff.port, sessions[0], RATE / n, seconds))
            return {sessions[0].sid: accepted}

        # Warm-up at the same rate, not counted: the collector's one-off work after the
        # burst of new sockets (a young collection over all of them) falls in here.
        drive(cfg.seconds(5, 1))
        time.sleep(1)
        pool.all({"cmd": "reset"})
        seconds = cfg.seconds(10, 3)
        cpu0 = bff.cpu()
        spy = bff.profile(f"subscriptions-{n}-{'own' if own else 'one'}", seconds)
        sent = drive(seconds)
        if spy is not None:
            spy.wait(30)
        expected = sum(sent.get(t.split("#")[0], 0) for _, _, t in subs)
        deadline = time.monotonic() + 15
        while True:  # drain: every update reached every subscriber, or the deadline
            stats = pool.all({"cmd": "stats"})
            got = sum(sum(c for c, _ in r["per_tag"].values()) for r in stats)
            if got >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        cpu = bff.cpu() - cpu0
        conns = max(conns, bff.redis_connections(stack.redis.url))
        lat = [x for r in stats for x in r["latencies"]]
        received = len(lat)
        per_tag = {t: v for r in stats for t, v in r["per_tag"].items()}
        missed = sum(
            max(0, sent.get(t.split("#")[0], 0) - per_tag.get(t, [0])[0]) for _, _, t in subs
        )
        closed = sum(r["closed"] for r in stats)
        what = "publish" if own else "webhook"
        section.row(f"{label}: {what} -> subscriber p50", "ms", digits=1).add(_pct(lat, 0.5))
        section.row(f"{label}: {what} -> subscriber p99", "ms", "≤ 50", lambda v: v <= 50, 1).add(
            _pct(lat, 0.99)
        )
        limit = 60.0 if own else 30.0

        def cpu_ok(v: float) -> bool:
            return v <= limit

        section.row(f"{label}: server CPU per delivery", "µs", f"≤ {limit:.0f}", cpu_ok, 1).add(
            cpu / max(1, received) * 1e6
        )
        section.row(
            f"{label}: RSS per 1,000 idle subscribers", "MB", "≤ 20", lambda v: v <= 20, 1
        ).add((rss1 - rss0) / 1024 / (opened - warm) * 1000)
        section.row(f"{label}: deliveries", "msgs", digits=0).add(received)
        section.row(f"{label}: missed updates", "msgs", "0", lambda v: v == 0, 0).add(missed)
        section.row(f"{label}: duplicates", "msgs", "0", lambda v: v == 0, 0).add(
            received - sum(v[0] for v in per_tag.values())
        )
        section.row(
            f"{label}: Redis connections of the process", "conns", "≤ 3", lambda v: v <= 3, 0
        ).add(conns)
        progress(
            f"subscriptions {label}: {received} deliveries in {seconds:.0f}s "
            f"({received / seconds:.0f}/s), p50 {_pct(lat, 0.5):.1f} ms, "
            f"p99 {_pct(lat, 0.99):.1f} ms, CPU {cpu / max(1, received) * 1e6:.1f} µs/delivery, "
            f"RSS {(rss1 - rss0) / 1024 / (opened - warm) * 1000:.1f} MB/1000, missed {missed}, "
            f"closed {closed}, redis conns {conns}"
        )
    finally:
        pool.close()


def run(cfg: Config) -> Section:
    section = Section(
        "Subscriptions",
        "`LiveSession` subscribers over graphql-transport-ws on one `bff serve` worker "
        "(fresh for every case and repetition), clients spread over ⌈N/1250⌉ processes. "
        f"Load: {RATE:,} deliveries a second for 10 s, after 5 s of warm-up at the same "
        "rate. (a) one session: signed roaming "
        "webhooks posted to the same worker; (b) own sessions: snapshot messages published "
        "on Redis as another replica publishes them after a webhook. Protocol pings every "
        "300 s instead of 20 s (not deliveries). CPU is the worker's "
        "utime + stime over the load window divided by deliveries.",
    )
    sizes = cfg.sizes or ((1000,) if cfg.quick else (1000, 5000))
    first = True
    # Protocol pings (one per socket every 20 s by default) are not deliveries: spaced
    # out here so that they do not land in some windows and not in others.
    with running({"BFF_WS_PING_INTERVAL_SECONDS": "300"}) as stack:
        for n in sizes:
            for own in [m == "own" for m in cfg.modes]:
                drivers = [f"bench-own-{n}-{i}" for i in range(n)] if own else [f"bench-one-{n}"]
                sessions = asyncio.run(create_sessions(stack.redis.url, drivers))
                for rep in range(cfg.repeats):
                    progress(
                        f"subscriptions {n} {'own' if own else 'one'}: repetition "
                        f"{rep + 1}/{cfg.repeats}: fresh server"
                    )
                    if not first:
                        stack.restart_bff()
                    first = False
                    _case(stack, cfg, section, n, own, sessions)
    return section
