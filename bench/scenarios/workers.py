"""Every core (issue 17): ``bff serve --workers 1`` against ``--workers 2`` on one port.

The same Redis and sessions; a fresh server for each case, the order of the two
alternating over repetitions. The load comes from the bench's own Node client
(``bench/peer/client.mjs``, as in ``versus``), unpinned: on this 2-core machine it shares
the cores with the workers, as the publisher and Redis do.

- query req/s: ``node(id)`` of a live session with the ``SessionLive`` fields, and
  ``{ __typename }``, each a closed loop of 32 keep-alive connections (the kernel spreads
  connections over the workers' ``SO_REUSEPORT`` sockets);
- deliveries/s: subscribers each on its own session, updates published on Redis faster
  than one worker delivers them (20,000 a second asked; the rate is taken over the
  publisher's real time), made before the window and written as raw protocol bytes
  (:class:`~bench.live.FloodPublisher`: made as they are sent, they took most of a core);
  what reached the subscribers during
  the window, per second (a slow subscriber's updates conflate, so this is the rate at
  which current states arrive, not messages queued).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from bench.config import Config
from bench.live import FloodPublisher, LiveSession, create_sessions
from bench.procs import BffProc, RedisProc, cpu_seconds
from bench.report import Section, progress
from bench.scenarios.subscriptions import _publish
from bench.scenarios.versus import Client, ensure_peer, node_query
from bench.stack import BASE_ENV, contract, token

CONNECTIONS = 32
FLOOD = 20000  # updates a second: more than one worker delivers


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _cpu_tree(pid: int) -> float:
    """CPU of the supervisor and every process under it (the workers)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_seconds(p)
        except OSError:
            continue
        todo.extend(_children(p))
    return total


def _own_cpu() -> float:
    """This process's CPU (the publisher runs here)."""
    t = os.times()
    return t.user + t.system


def _case(
    workers: int, redis: RedisProc, sessions: list[LiveSession], cfg: Config
) -> dict[str, float]:
    redis_url = redis.url
    env = {**BASE_ENV, "BFF_REDIS_URL": redis_url, "BFF_WORKERS": str(workers),
           "BFF_WS_PING_INTERVAL_SECONDS": "300"}  # fmt: skip
    server = BffProc(env)
    client = Client()
    out: dict[str, float] = {}
    try:
        server.start()
        # Every worker answers /readyz before the load: a few connections reach each.
        deadline = time.monotonic() + 30
        while workers > 1 and len(_children(server.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        one = sessions[0]
        for name, body in (
            ("node(id) SessionLive", {"query": node_query(), "variables": {"id": one.gid}}),
            ("{ __typename }", {"query": "{ __typename }"}),
        ):
            cmd = {"cmd": "http", "port": server.port, "body": json.dumps(body),
                   "token": token(one.driver), "connections": CONNECTIONS}  # fmt: skip
            client({**cmd, "seconds": cfg.seconds(2, 1)})  # warm-up
            seconds = cfg.seconds(8, 3)
            cpu0 = _cpu_tree(server.pid)
            reply = client({**cmd, "seconds": seconds})
            if reply["errors"] or not reply["count"]:
                raise RuntimeError(f"{name} with {workers} workers: {reply['errors']} errors")
            out[f"{name} req/s"] = reply["count"] / seconds
            out[f"{name} CPU"] = (_cpu_tree(server.pid) - cpu0) / reply["count"] * 1e6
        subs = [[token(s.driver), {"id": s.gid}, s.sid, s.sid] for s in sessions]
        reply = client(
            {"cmd": "open", "port": server.port, "query": contract()["LiveSession"],
             "subs": subs, "concurrency": 50},
            timeout=600,
        )  # fmt: skip
        if reply["failed"]:
            raise RuntimeError(f"{reply['failed']} subscriptions failed: {reply['sample']}")
        _publish(redis_url, sessions, FLOOD // 4, cfg.seconds(2, 1))  # warm-up
        flood = FloodPublisher(redis_url)
        try:
            prepared = flood.prepare(sessions, int(FLOOD * cfg.seconds(8, 3)))
            time.sleep(1)
            client({"cmd": "reset"})
            # Where the cores went meanwhile: the workers, the client, Redis, the publisher.
            pids = {"workers": server.pid, "client": client.pool.procs[0].pid,
                    "Redis": redis.pid}  # fmt: skip
            busy0 = {k: _cpu_tree(p) for k, p in pids.items()} | {"publisher": _own_cpu()}
            t0 = time.monotonic()
            sent = flood.flood(prepared, FLOOD)
        finally:
            flood.close()
        stats: dict[str, Any] = client({"cmd": "stats"})
        # Over the publisher's real time (it may fall behind FLOOD on a busy machine).
        elapsed = time.monotonic() - t0
        busy1 = {k: _cpu_tree(p) for k, p in pids.items()} | {"publisher": _own_cpu()}
        for k in busy0:
            out[f"cores: {k}"] = (busy1[k] - busy0[k]) / elapsed
        out["cores: all"] = sum(out[f"cores: {k}"] for k in busy0)
        out["deliveries/s"] = stats["received"] / elapsed
        out["published/s"] = sum(sent.values()) / elapsed
        worker_cpu = busy1["workers"] - busy0["workers"]
        out["deliveries per worker CPU-second"] = stats["received"] / worker_cpu
        out["repeats"] = sum(v[1] for v in stats["per_tag"].values())
        out["reordered"] = sum(v[2] for v in stats["per_tag"].values())
        client({"cmd": "close"})
    finally:
        client.close()
        server.stop()
    return out


def run(cfg: Config) -> Section:
    n = cfg.sizes[0] if cfg.sizes else cfg.count(1000, 500)
    section = Section(
        "Every core: `bff serve --workers 1` and `--workers 2`",
        "One port, the workers' `SO_REUSEPORT` sockets; the same Redis, a fresh server per "
        "case, the order alternating. Load from the bench's Node client "
        f"(`bench/peer/client.mjs`), not pinned: on this 2-core machine the client, "
        "Redis and the publisher share the cores with the workers. Queries: a closed loop "
        f"of {CONNECTIONS} keep-alive connections, {cfg.seconds(8, 3):.0f} s. Deliveries: "
        f"{n:,} subscribers each on its own session, {FLOOD:,} updates a second published "
        "on Redis (more than one worker delivers; a subscriber's updates conflate while it "
        "waits), made before the window and written as raw protocol bytes so that the "
        "publisher takes little of the cores, what arrived per second, beside what the "
        "publisher managed to send: where the two are equal the publisher, not the "
        "server, set the rate. CPU per request is every server process's; the cores busy "
        "during deliveries are each process's CPU over the window.",
    )
    ensure_peer()
    redis = RedisProc()
    redis.start()
    try:
        sessions = asyncio.run(create_sessions(redis.url, [f"wk-{i}" for i in range(n)]))
        got: dict[int, dict[str, list[float]]] = {1: {}, 2: {}}
        for rep in range(cfg.repeats):
            for workers in (1, 2) if rep % 2 == 0 else (2, 1):
                progress(f"workers: {rep + 1}/{cfg.repeats}: --workers {workers}")
                figures = _case(workers, redis, sessions, cfg)
                progress(f"workers {workers}: " + ", ".join(
                    f"{k} {v:,.1f}" for k, v in figures.items()))  # fmt: skip
                for k, v in figures.items():
                    got[workers].setdefault(k, []).append(v)
    finally:
        redis.stop()
    for key, unit in (("node(id) SessionLive req/s", "req/s"), ("{ __typename } req/s", "req/s"),
                      ("deliveries/s", "msgs/s"), ("published/s", "msgs/s")):  # fmt: skip
        target = ("", None) if key == "published/s" else ("≥ 1.6", lambda v: v >= 1.6)
        row = section.row(f"{key}: 2 workers / 1", "ratio", target[0], target[1], 2)
        for a, b in zip(got[2].get(key, []), got[1].get(key, []), strict=False):
            row.add(a / b if b else float("nan"))
        for w in (1, 2):
            section.row(f"{key}: {w} worker{'s' if w > 1 else ''}", unit, digits=0).values = got[
                w
            ].get(key, [])
    row = section.row("deliveries per worker CPU-second: 2 workers / 1", "ratio", digits=2)
    key = "deliveries per worker CPU-second"
    for a, b in zip(got[2].get(key, []), got[1].get(key, []), strict=False):
        row.add(a / b if b else float("nan"))
    for w in (1, 2):
        section.row(f"{key}, {w} worker(s)", "msgs", digits=0).values = got[w].get(key, [])
        for who in ("workers", "client", "Redis", "publisher", "all"):
            section.row(f"cores busy during deliveries, {w} worker(s): {who}", "cores",
                        digits=2).values = got[w].get(f"cores: {who}", [])  # fmt: skip
    for w in (1, 2):
        for key in ("node(id) SessionLive CPU", "{ __typename } CPU"):
            section.row(f"{key.replace(' CPU', '')}: CPU per request, {w} worker(s)", "µs",
                        digits=0).values = got[w].get(key, [])  # fmt: skip
        for key, word in (("repeats", "duplicates"), ("reordered", "out of order")):
            section.row(f"deliveries, {w} worker(s): {word}", "msgs", "0", lambda v: v == 0,
                        0).values = got[w].get(key, [])  # fmt: skip
    return section
