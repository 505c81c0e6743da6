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
from collections.abc import Callable
from typing import Any

from bench.config import Config
from bench.live import (
    LiveSession,
    Publisher,
    create_sessions,
    paced,
    roaming_webhook,
    sync_versions,
)
from bench.pool import SubscriberPool
from bench.report import Section, progress
from bench.stack import Stack, contract, running, token

RATE = 2000  # deliveries a second
#: Webhooks a second for the own-session webhook -> subscriber rows (one worker takes
#: ~1,300 signed webhooks a second at most: see the webhook ingestion figures).
WEBHOOK_RATE = 500


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def _post_webhooks(
    port: int, sessions: list[LiveSession], rate: float, seconds: float
) -> dict[str, int]:
    """``rate`` signed roaming webhooks a second, round robin over ``sessions``,
    ``rate`` x ``seconds`` in all, on one keep-alive connection; accepted per session."""
    from bench.httpload import _read_response

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    start = loop.time()
    accepted: dict[str, int] = {}
    try:
        for k in range(max(1, int(rate * seconds))):
            await asyncio.sleep(max(0.0, start + k / rate - loop.time()))
            session = sessions[k % len(sessions)]
            writer.write(roaming_webhook(session, port))
            status, body = await asyncio.wait_for(_read_response(reader), 10)
            if status != 200:
                raise RuntimeError(f"webhook answered {status}: {body[:200]!r}")
            accepted[session.sid] = accepted.get(session.sid, 0) + 1
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

    def send(first: int, count: int) -> None:
        batch = [sessions[(first + j) % len(sessions)] for j in range(count)]
        pub.publish(batch)
        for s in batch:
            sent[s.sid] = sent.get(s.sid, 0) + 1

    try:
        paced(max(1, int(rate * seconds)), rate, send)
    finally:
        pub.close()
    return sent


def _checked_rows(section: Section, label: str, got: dict[str, Any]) -> None:
    """Per socket: updates that never came, came twice (anywhere, not only in a row),
    or came after a newer one."""
    for key, word in (("missed", "missed updates"), ("repeats", "duplicates"),
                      ("reordered", "out of order")):  # fmt: skip
        section.row(f"{label}: {word}", "msgs", "0", lambda v: v == 0, 0).add(got[key])


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
        opened = open_(subs[warm:])  # every socket of the pool processes, the warm ones too
        progress(f"subscriptions {label}: {opened} subscribed in {time.monotonic() - t0:.1f}s")
        time.sleep(cfg.seconds(3, 1))
        rss1 = bff.rss_kib()
        conns = bff.redis_connections(stack.redis.url)

        def publish(seconds: float) -> dict[str, int]:
            return _publish(stack.redis.url, sessions, RATE, seconds)

        def webhooks(rate: float) -> Callable[[float], dict[str, int]]:
            def drive(seconds: float) -> dict[str, int]:
                return asyncio.run(_post_webhooks(bff.port, sessions, rate, seconds))

            return drive

        def window(drive: Callable[[float], dict[str, int]], seconds: float) -> dict[str, Any]:
            """Deliveries of ``drive`` over ``seconds``, drained, checked per socket."""
            pool.all({"cmd": "reset"})
            cpu0 = bff.cpu()
            spy = bff.profile(f"subscriptions-{n}-{'own' if own else 'one'}", seconds)
            sent = drive(seconds)
            if spy is not None:
                spy.wait(30)
            expected = sum(sent.get(t.split("#")[0], 0) for _, _, t in subs)
            deadline = time.monotonic() + 15
            while True:  # drain: every update reached every subscriber, or the deadline
                stats = pool.all({"cmd": "stats"})
                got = sum(sum(v[0] for v in r["per_tag"].values()) for r in stats)
                if got >= expected or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            cpu = bff.cpu() - cpu0
            lat = [x for r in stats for x in r["latencies"]]
            per_tag = {t: v for r in stats for t, v in r["per_tag"].items()}
            zero = [0, 0, 0]
            return {
                "lat": lat,
                "cpu": cpu / max(1, len(lat)) * 1e6,
                "missed": sum(
                    max(0, sent.get(t.split("#")[0], 0) - per_tag.get(t, zero)[0])
                    for _, _, t in subs
                ),
                "repeats": sum(v[1] for v in per_tag.values()),
                "reordered": sum(v[2] for v in per_tag.values()),
                "closed": sum(r["closed"] for r in stats),
            }

        # Own sessions: published on Redis as another replica publishes after a webhook
        # (the BFF's ingestion elsewhere), at the full rate; one session: signed webhooks
        # to this worker (RATE / n a second).
        drive = publish if own else webhooks(RATE / n)
        # Warm-up at the same rate, not counted: the collector's one-off work after the
        # burst of new sockets (a young collection over all of them) falls in here.
        drive(cfg.seconds(5, 1))
        time.sleep(1)
        seconds = cfg.seconds(10, 3)
        got = window(drive, seconds)
        conns = max(conns, bff.redis_connections(stack.redis.url))
        lat, received = got["lat"], len(got["lat"])
        what = (
            "publish -> subscriber (Redis publish as a replica's, no webhook)"
            if own
            else "webhook -> subscriber (signed webhook on this worker)"
        )
        section.row(f"{label}: {what} p50", "ms", digits=1).add(_pct(lat, 0.5))
        section.row(f"{label}: {what} p99", "ms", "≤ 50", lambda v: v <= 50, 1).add(_pct(lat, 0.99))
        limit = 60.0 if own else 30.0

        def cpu_ok(v: float) -> bool:
            return v <= limit

        section.row(f"{label}: server CPU per delivery", "µs", f"≤ {limit:.0f}", cpu_ok, 1).add(
            got["cpu"]
        )
        section.row(
            f"{label}: RSS per 1,000 idle subscribers", "MB", "≤ 20", lambda v: v <= 20, 1
        ).add((rss1 - rss0) / 1024 / (opened - warm) * 1000)
        section.row(f"{label}: deliveries", "msgs", digits=0).add(received)
        _checked_rows(section, label, got)
        section.row(
            f"{label}: Redis connections of the process", "conns", "≤ 3", lambda v: v <= 3, 0
        ).add(conns)
        progress(
            f"subscriptions {label}: {received} deliveries in {seconds:.0f}s "
            f"({received / seconds:.0f}/s), p50 {_pct(lat, 0.5):.1f} ms, "
            f"p99 {_pct(lat, 0.99):.1f} ms, CPU {got['cpu']:.1f} µs/delivery, "
            f"RSS {(rss1 - rss0) / 1024 / (opened - warm) * 1000:.1f} MB/1000, "
            f"missed {got['missed']}, repeats {got['repeats']}, out of order "
            f"{got['reordered']}, closed {got['closed']}, redis conns {conns}"
        )
        if own:
            # The same sockets, each update a signed roaming webhook posted to this
            # worker: signature, replay check (dedupe), compare-and-set of the snapshot,
            # publish, then the delivery.
            rate = cfg.count(WEBHOOK_RATE, WEBHOOK_RATE // 2)
            wh = window(webhooks(rate), seconds)
            asyncio.run(sync_versions(stack.redis.url, sessions))
            wl = wh["lat"]
            name = f"{label}: webhook -> subscriber (signature, dedupe, compare-and-set) "
            section.row(name + "p50", "ms", digits=1).add(_pct(wl, 0.5))
            section.row(name + "p99", "ms", "≤ 50", lambda v: v <= 50, 1).add(_pct(wl, 0.99))
            section.row(f"{label}: server CPU per webhook + its delivery", "µs", digits=0).add(
                wh["cpu"]
            )
            _checked_rows(section, f"{label}, webhooks", wh)
            progress(
                f"subscriptions {label}: webhooks at {rate}/s: {len(wl)} deliveries, "
                f"p50 {_pct(wl, 0.5):.1f} ms, p99 {_pct(wl, 0.99):.1f} ms, CPU "
                f"{wh['cpu']:.0f} µs per webhook + delivery, missed {wh['missed']}, "
                f"repeats {wh['repeats']}, out of order {wh['reordered']}"
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
        "on Redis as another replica publishes them after a webhook, then (the same "
        f"sockets) {WEBHOOK_RATE} signed roaming webhooks a second posted to the worker "
        "(signature, replay check, compare-and-set, publish: the webhook -> subscriber "
        "rows). Every socket is checked for missed updates, duplicates anywhere (not only "
        "in a row) and updates older than one it already had (the order key is the "
        "session's energy, raised with every update). Protocol pings every "
        "300 s instead of 20 s (not deliveries). Pollers are off in effect "
        "(`BFF_POLL_INTERVAL_SECONDS=60`, `BFF_QUIET_POLL_AFTER_SECONDS=3600`: the "
        "bench's sessions are not the sandbox's, a poll would find none), so their rounds "
        "are not in these figures. CPU is the worker's "
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
