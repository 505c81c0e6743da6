"""Two replicas on one Redis node against the same on a Redis Cluster (issue 16).

Per topology: a Redis (one ``redis-server``, or 3 masters + 3 replicas from the suite's
``tests/redis_cluster.py``), the sandboxes, and two ``bff serve`` replicas A and B. Each
of N drivers has a live roaming session and one ``LiveSession`` subscriber on B; signed
webhooks for those sessions are posted to A at a fixed rate, round robin, so every
delivery crosses Redis (A's compare-and-set and publish, B's subscriber connection).
Figures: deliveries/s, webhook -> subscriber p50/p99, missed updates, and the Redis
connections each replica holds (its client names, counted on every node).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import redis

from bench.config import Config
from bench.live import LiveSession, create_sessions
from bench.pool import SubscriberPool
from bench.procs import BffProc, RedisProc, SandboxProc, free_port
from bench.report import Section, progress
from bench.scenarios.subscriptions import _pct, _post_webhooks
from bench.stack import BASE_ENV, contract, token

RATE = 400  # webhooks (= deliveries) a second, over all sessions
CONNECTIONS = 4  # keep-alive connections posting them to A


@contextlib.contextmanager
def _redis(topology: str) -> Iterator[tuple[str, list[str]]]:
    """(the URL the replicas are given, every node's URL to count connections on)."""
    if topology == "single":
        proc = RedisProc()
        proc.start()
        try:
            yield proc.url, [proc.url]
        finally:
            proc.stop()
        return
    from tests.redis_cluster import RedisCluster  # the suite's 3+3 cluster

    cluster = RedisCluster()
    try:
        cluster.start()
        yield cluster.url, [f"redis://127.0.0.1:{n.port}" for n in cluster.nodes]
    finally:
        cluster.close()


def _connections(bff: BffProc, nodes: list[str]) -> int:
    names = {f"bff:{bff.pid}", f"bff-pubsub:{bff.pid}"}
    total = 0
    for url in nodes:
        client = redis.Redis.from_url(url)
        try:
            total += sum(1 for c in client.client_list() if c.get("name") in names)
        finally:
            client.close()
    return total


async def _post(port: int, sessions: list[LiveSession], rate: float, seconds: float) -> int:
    """``rate`` webhooks a second over :data:`CONNECTIONS` connections, round robin."""
    accepted = await asyncio.gather(*(
        _post_webhooks(port, sessions[k::CONNECTIONS], rate / CONNECTIONS, seconds)
        for k in range(CONNECTIONS)
    ))  # fmt: skip
    return sum(sum(per.values()) for per in accepted)


def _case(cfg: Config, section: Section, topology: str, n: int) -> None:
    with _redis(topology) as (url, nodes):
        ports = [free_port(), free_port()]
        sandbox = SandboxProc(f"http://127.0.0.1:{ports[0]}")
        env = {**BASE_ENV, "BFF_REDIS_URL": url, "BFF_SANDBOX_URL": sandbox.url,
               "BFF_WS_PING_INTERVAL_SECONDS": "300",
               "BFF_REDIS_CLUSTER": "true" if topology == "cluster" else "false"}  # fmt: skip
        a, b = BffProc(env, ports[0]), BffProc(env, ports[1])
        pool: SubscriberPool | None = None
        try:
            sandbox.start()
            a.start()
            b.start()
            drivers = [f"bench-cluster-{i}" for i in range(n)]
            sessions = asyncio.run(create_sessions(url, drivers, topology == "cluster"))
            procs = max(1, math.ceil(n / 1250))
            pool = SubscriberPool(procs)
            subs = [(token(s.driver), {"id": s.gid}, s.sid) for s in sessions]
            cmds = [{"cmd": "open", "host": "127.0.0.1", "port": b.port,
                     "query": contract()["LiveSession"], "subs": subs[k::procs],
                     "concurrency": 50} for k in range(procs)]  # fmt: skip
            replies = pool.each(cmds, timeout=600)
            if sum(r["failed"] for r in replies):
                raise RuntimeError(f"subscriptions failed: {replies[0]['sample']}")
            asyncio.run(_post(a.port, sessions, RATE, cfg.seconds(3, 1)))  # warm-up
            time.sleep(1)
            pool.all({"cmd": "reset"})
            seconds = cfg.seconds(10, 4)
            cpu_a, cpu_b = a.cpu(), b.cpu()
            sent = asyncio.run(_post(a.port, sessions, RATE, seconds))
            cpu_a, cpu_b = a.cpu() - cpu_a, b.cpu() - cpu_b
            deadline = time.monotonic() + 15
            while True:
                stats: list[dict[str, Any]] = pool.all({"cmd": "stats"})
                got = sum(len(r["latencies"]) for r in stats)
                if got >= sent or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            lat = [x for r in stats for x in r["latencies"]]
            conns_a, conns_b = _connections(a, nodes), _connections(b, nodes)
            label = f"{n:,} subscribers, {topology}"
            section.row(f"{label}: deliveries/s", "msgs/s", digits=0).add(len(lat) / seconds)
            section.row(f"{label}: webhook on A -> subscriber on B p50", "ms", digits=1).add(
                _pct(lat, 0.5)
            )
            section.row(f"{label}: webhook on A -> subscriber on B p99", "ms", digits=1).add(
                _pct(lat, 0.99)
            )
            section.row(f"{label}: missed updates", "msgs", "0", lambda v: v == 0, 0).add(
                max(0, sent - len(lat))
            )
            section.row(f"{label}: CPU of A per webhook", "µs", digits=0).add(cpu_a / sent * 1e6)
            section.row(f"{label}: CPU of B per delivery", "µs", digits=0).add(
                cpu_b / max(1, len(lat)) * 1e6
            )
            section.row(f"{label}: Redis connections of replica A", "conns", digits=0).add(conns_a)
            section.row(f"{label}: Redis connections of replica B", "conns", digits=0).add(conns_b)
            progress(
                f"cluster bench {label}: {len(lat)} deliveries in {seconds:.0f}s "
                f"({len(lat) / seconds:.0f}/s), p50 {_pct(lat, 0.5):.1f} ms, p99 "
                f"{_pct(lat, 0.99):.1f} ms, missed {max(0, sent - len(lat))}, redis conns "
                f"A {conns_a} B {conns_b}, CPU A {cpu_a / sent * 1e6:.0f} µs/webhook, "
                f"B {cpu_b / max(1, len(lat)) * 1e6:.0f} µs/delivery"
            )
        finally:
            if pool is not None:
                pool.close()
            for proc in (b, a, sandbox):
                proc.stop()


def run(cfg: Config) -> Section:
    section = Section(
        "One Redis node and a Redis Cluster",
        "Two `bff serve` replicas (one worker each), A and B, on one `redis-server` and on "
        "a Redis Cluster of 3 masters + 3 replicas on the same machine (sharded pub/sub, "
        "`BFF_REDIS_CLUSTER=true`). Each subscriber on B watches its own live roaming "
        f"session; signed webhooks for those sessions are posted to A, {RATE} a second "
        f"round robin over {CONNECTIONS} keep-alive connections, for 10 s after 3 s of "
        "warm-up. Connections are counted by the replicas' client names on every node.",
    )
    n = (cfg.sizes or ((500,) if cfg.quick else (1000,)))[0]
    for rep in range(cfg.repeats):
        for topology in ("single", "cluster"):
            progress(f"cluster bench: {topology}, repetition {rep + 1}/{cfg.repeats}")
            _case(cfg, section, topology, n)
    return section
