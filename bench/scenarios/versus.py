"""The BFF against a GraphQL Yoga peer (issue 17), side by side in one run.

The peer (``bench/peer/server.mjs``: graphql-yoga 5 + graphql-ws on ``ws``, one ioredis
subscriber) serves the same ``SessionLive`` shape from the same Redis snapshot, record and
channel as the BFF. Both are answered by the same Node client (``bench/peer/client.mjs``:
graphql-transport-ws on ``ws``, and a closed-loop HTTP load on raw keep-alive sockets).

Each server runs alone on core 0 (``taskset -c 0``); Redis, the client and the publisher
on core 1. Per round, each server in turn (the order alternates between rounds), fresh:

1. 1,000 subscribers, each on its own session: CPU per subscribe (connection_init,
   subscribe, first state: the server's CPU while they open, per subscription), RSS per
   1,000 idle subscribers; then 2,000 updates a second published on Redis as another
   replica publishes them: CPU per delivery, publish -> subscriber p50/p99;
2. 1,000 subscribers on one session, the same rate of deliveries (2 updates a second);
3. reads over HTTP: ``node(id)`` of the live session with the ``SessionLive`` fields, and
   ``{ __typename }``: req/s of a closed loop of 16 connections.

Every delivery is checked per socket: no repeats, no update older than one already seen
(the order key is the session's energy, raised with every update), none missed. Before
the rounds, both servers answer the same read and the same published update: their
answers must be byte-equal JSON, or the run stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from graphql import FragmentDefinitionNode, parse, print_ast

from bench.config import Config
from bench.live import LiveSession, create_sessions
from bench.pool import SubscriberPool
from bench.procs import BffProc, Child, RedisProc, cpu_seconds, pinned, rss_kib
from bench.report import Section, progress
from bench.scenarios.subscriptions import _pct, _publish
from bench.stack import BASE_ENV, contract, token

PEER = Path(__file__).resolve().parents[1] / "peer"
SERVER_CORE, CLIENT_CORE = "0", "1"
RATE = 2000  # deliveries a second
READ_CONNECTIONS = 16

#: The issue's targets for BFF / Yoga, by figure.
TARGETS: dict[str, tuple[str, Any]] = {
    "one": ("≤ 0.3", lambda v: v <= 0.3),
    "one p99": ("≤ 0.5", lambda v: v <= 0.5),
    "own": ("≤ 0.8", lambda v: v <= 0.8),
    "own p50": ("≤ 1.0", lambda v: v <= 1.0),
    "own p99": ("≤ 0.5", lambda v: v <= 0.5),
    "rss": ("≤ 0.8", lambda v: v <= 0.8),
    "subscribe": ("≤ 1.0", lambda v: v <= 1.0),
    "node": ("≥ 1.0", lambda v: v >= 1.0),
    "trivial": ("≥ 1.0", lambda v: v >= 1.0),
}


def node_query() -> str:
    """``node(id)`` of a session with the contract's ``SessionLive`` fields."""
    doc = parse(contract()["LiveSession"])
    fragments = [print_ast(d) for d in doc.definitions if isinstance(d, FragmentDefinitionNode)]
    head = (
        "query SessionLiveRead($id: ID!) "
        "{ node(id: $id) { id ... on ChargingSession { ...SessionLive provider } } }"
    )
    return "\n".join([head, *fragments])


def ensure_peer() -> None:
    """``npm ci`` in bench/peer when its node_modules do not match package-lock.json."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("bench.run versus needs node (20+) and npm")
    lock, installed = PEER / "package-lock.json", PEER / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    progress("versus: npm ci in bench/peer")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER, check=True
    )


class PeerProc(Child):
    """The Yoga peer, pinned to ``cpus``."""

    name = "yoga"

    def __init__(self, redis_url: str, cpus: str | None) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = redis_url
        self.cpus = cpus

    def start(self) -> None:
        env = {
            **os.environ,
            "PORT": str(self.port),
            "REDIS_URL": self.redis_url,
            "NODE_ENV": "production",
        }
        argv = ["node", "--harmony-json-parse-with-source", str(PEER / "server.mjs")]
        self._spawn(pinned(argv, self.cpus), env)
        self._wait(lambda: httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200, 30)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        return rss_kib(self.pid)


Server = BffProc | PeerProc


def _server(kind: str, redis_url: str) -> Server:
    if kind == "BFF":
        # Protocol pings spaced out as in the subscription benchmarks (the peer sends none).
        env = {**BASE_ENV, "BFF_REDIS_URL": redis_url, "BFF_WS_PING_INTERVAL_SECONDS": "300"}
        return BffProc(env, cpus=SERVER_CORE)
    return PeerProc(redis_url, SERVER_CORE)


@contextmanager
def _started(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Client:
    """One Node client process (bench/peer/client.mjs) on the client core."""

    def __init__(self) -> None:
        argv = pinned(["node", str(PEER / "client.mjs")], CLIENT_CORE)
        self.pool = SubscriberPool(1, argv)

    def __call__(self, cmd: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
        return self.pool.each([cmd], timeout)[0]

    def close(self) -> None:
        self.pool.close()


@contextmanager
def _profiled(server: Server, label: str, seconds: float) -> Iterator[None]:
    """The BFF sampled by py-spy while the block runs (``BENCH_PROFILE``, see
    :meth:`BffProc.profile`); the peer is not."""
    spy = server.profile(label, seconds) if isinstance(server, BffProc) else None
    try:
        yield
    finally:
        if spy is not None:
            spy.wait(timeout=seconds + 30)


def _subscribe(
    client: Client, server: Server, subs: list[list[Any]], label: str
) -> tuple[float, float]:
    """Open ``subs`` (50 first, not measured); CPU per subscribe (µs) and RSS per 1,000
    idle subscribers (MB)."""
    query = contract()["LiveSession"]
    warm = 50

    def open_(part: list[Any]) -> int:
        reply = client(
            {"cmd": "open", "port": server.port, "query": query, "subs": part, "concurrency": 50},
            timeout=600,
        )
        if reply["failed"]:
            raise RuntimeError(
                f"{label}: {reply['failed']} subscriptions failed: {reply['sample']}"
            )
        return int(reply["opened"])

    open_(subs[:warm])
    time.sleep(1)
    rss0, cpu0, t0 = server.rss_kib(), server.cpu(), time.monotonic()
    with _profiled(server, f"versus-{label}-subscribe", 3):
        opened = open_(subs[warm:])
    cpu1 = server.cpu()
    progress(f"versus: {server.name}: {label}: {opened} subscribed in {time.monotonic() - t0:.1f}s")
    time.sleep(1)
    rss1 = server.rss_kib()
    return (cpu1 - cpu0) / opened * 1e6, (rss1 - rss0) / 1024 / opened * 1000


def _deliveries(
    client: Client,
    server: Server,
    redis_url: str,
    sessions: list[LiveSession],
    tags: list[str],
    cfg: Config,
) -> dict[str, float]:
    """Publish at RATE deliveries a second (after a warm-up); CPU per delivery (µs),
    p50/p99 (ms), missed, repeats and out-of-order deliveries over the sockets."""
    per_update = len(tags) // len(sessions)  # sockets per session
    rate = RATE / per_update
    _publish(redis_url, sessions, rate, cfg.seconds(3, 1))
    time.sleep(0.5)
    client({"cmd": "reset"})
    seconds = cfg.seconds(10, 2)
    cpu0 = server.cpu()
    with _profiled(server, f"versus-{'own' if per_update == 1 else 'one'}-deliveries", seconds):
        sent = _publish(redis_url, sessions, rate, seconds)
    expected = sum(sent.get(t.split("#")[0], 0) for t in tags)
    deadline = time.monotonic() + 15
    while True:
        stats = client({"cmd": "stats"})
        got = sum(v[0] for v in stats["per_tag"].values())
        if got >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    cpu = server.cpu() - cpu0
    per_tag = stats["per_tag"]
    lat = stats["latencies"]
    missed = sum(max(0, sent.get(t.split("#")[0], 0) - per_tag.get(t, [0])[0]) for t in tags)
    return {
        "cpu": cpu / max(1, len(lat)) * 1e6,
        "p50": _pct(lat, 0.5),
        "p99": _pct(lat, 0.99),
        "received": len(lat),
        "missed": missed,
        "repeats": sum(v[1] for v in per_tag.values()),
        "reordered": sum(v[2] for v in per_tag.values()),
    }


def _reads(client: Client, server: Server, session: LiveSession, cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, body in (
        ("node", {"query": node_query(), "variables": {"id": session.gid}}),
        ("trivial", {"query": "{ __typename }"}),
    ):
        cmd = {
            "cmd": "http", "port": server.port, "body": json.dumps(body),
            "token": token(session.driver), "connections": READ_CONNECTIONS,
        }  # fmt: skip
        client({**cmd, "seconds": cfg.seconds(2, 0.5)})  # warm-up
        seconds = cfg.seconds(8, 2)
        cpu0 = server.cpu()
        with _profiled(server, f"versus-{name}-read", seconds):
            reply = client({**cmd, "seconds": seconds})
        if reply["errors"] or not reply["count"]:
            raise RuntimeError(f"{name} read on {server.name}: {reply['errors']} errors")
        out[name] = reply["count"] / seconds
        # CPU per request too: on a shared machine req/s follows the core's share.
        out[f"{name} cpu"] = (server.cpu() - cpu0) / reply["count"] * 1e6
        out[f"{name} body"] = reply["body"]
    return out


class PayloadsDiffer(RuntimeError):
    pass


def _check_payloads(redis_url: str, one: LiveSession, attempts: int = 3) -> str:
    """Both servers at once answer the same read and the same published update: their
    answers must be byte-equal. ``durationSeconds`` of a charging session counts from the
    clock, so two answers a moment apart can straddle a second: a difference is looked at
    again, up to ``attempts`` times. Returns a line for the notes."""
    for attempt in range(1, attempts):
        try:
            return _check_payloads_once(redis_url, one)
        except PayloadsDiffer as exc:
            progress(f"versus: payloads differ (attempt {attempt}), again: {exc}")
    return _check_payloads_once(redis_url, one)


def _check_payloads_once(redis_url: str, one: LiveSession) -> str:
    servers = [_server("BFF", redis_url), _server("Yoga", redis_url)]
    for s in servers:
        s.cpus = None  # both at once: no pinning for this check
    client = Client()
    try:
        for s in servers:
            s.start()
        bodies = []
        for s in servers:
            r = httpx.post(
                f"{s.url}/graphql",
                json={"query": node_query(), "variables": {"id": one.gid}},
                headers={"authorization": f"Bearer {token(one.driver)}"},
            )
            bodies.append(r.content)
        if bodies[0] != bodies[1] or b'"errors"' in bodies[0]:
            raise PayloadsDiffer(
                f"node(id) answers differ:\nBFF  {bodies[0]!r}\nYoga {bodies[1]!r}"
            )
        query = contract()["LiveSession"]
        for k, s in enumerate(servers):
            sub = [token(one.driver), {"id": one.gid}, f"{one.sid}#{k}", f"{one.sid}#{k}"]
            client({"cmd": "open", "port": s.port, "query": query, "subs": [sub]})
        client({"cmd": "reset"})
        _publish(redis_url, [one], 10, 0.3)
        deadline = time.monotonic() + 10
        while True:
            samples = client({"cmd": "stats"})["samples"]
            if len(samples) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        got = [samples.get(f"{one.sid}#{k}") for k in range(2)]
        if got[0] is None or got[0] != got[1]:
            raise PayloadsDiffer(f"LiveSession payloads differ:\nBFF  {got[0]!r}\nYoga {got[1]!r}")
        client({"cmd": "close"})
        json.loads(got[0])
        return (
            f"payload check: `node(id)` answers ({len(bodies[0])} bytes) and a `LiveSession` "
            f"update ({len(got[0])} bytes) byte-equal from both servers"
        )
    finally:
        client.close()
        for s in servers:
            s.stop()


@contextmanager
def _on_core(cpus: set[int]) -> Iterator[None]:
    """This process (the publisher) and what it starts unpinned on ``cpus``."""
    before = os.sched_getaffinity(0)
    try:
        if len(before) > 1:
            os.sched_setaffinity(0, cpus & before or before)
        yield
    finally:
        os.sched_setaffinity(0, before)


def run(cfg: Config) -> Section:
    rounds = cfg.count(4, 2) if cfg.repeats == 3 else cfg.repeats
    n = cfg.sizes[0] if cfg.sizes else cfg.count(1000, 500)
    section = Section(
        "BFF against GraphQL Yoga (issue 17)",
        "The same `SessionLive` shape from the same Redis keys and channels: `bff serve` "
        "(one worker) and a GraphQL Yoga 5 + graphql-ws peer (`bench/peer/`, Node "
        f"{_node_version()}), each alone on core {SERVER_CORE} (`taskset`), fresh for each "
        f"round; Redis, the publisher and one Node client (`bench/peer/client.mjs`, "
        f"graphql-transport-ws on `ws`, HTTP on raw keep-alive sockets) on core "
        f"{CLIENT_CORE}. {rounds} rounds, the servers' order alternating. Subscriptions: "
        f"{n:,} subscribers, {RATE:,} deliveries a second for {cfg.seconds(10, 2):.0f} s "
        "published on Redis as another replica publishes them. Reads: a closed loop of "
        f"{READ_CONNECTIONS} connections for {cfg.seconds(8, 2):.0f} s. CPU is the "
        "server's utime + stime. Ratios are BFF / Yoga per round; the BFF pollers are off "
        "(the peer has none).",
    )
    ensure_peer()
    redis = RedisProc()
    with _on_core({int(CLIENT_CORE)}):
        redis.start()
        try:
            own = asyncio.run(create_sessions(redis.url, [f"vs-own-{i}" for i in range(n)]))
            one = asyncio.run(create_sessions(redis.url, ["vs-one"]))[0]
            section.notes.append(_check_payloads(redis.url, one))
            progress(f"versus: {section.notes[-1]}")
            figures: dict[str, dict[str, list[float]]] = {"BFF": {}, "Yoga": {}}
            for r in range(rounds):
                order = ["BFF", "Yoga"] if r % 2 == 0 else ["Yoga", "BFF"]
                for kind in order:
                    progress(f"versus: round {r + 1}/{rounds}: {kind}")
                    got = _round(kind, redis.url, own, one, cfg, n)
                    for k, v in got.items():
                        if isinstance(v, (int, float)):
                            figures[kind].setdefault(k, []).append(float(v))
                    progress(f"versus: {kind}: " + ", ".join(
                        f"{k} {v:,.1f}" for k, v in got.items() if isinstance(v, (int, float))
                    ))  # fmt: skip
        finally:
            redis.stop()
    _rows(section, figures, n)
    section.notes.append(
        "issue 17's BFF / Yoga figures when it was filed (targets in the table): one "
        "session CPU per delivery 0.29, p99 0.31; own sessions CPU per delivery 1.61, "
        "p50 / p99 1.26 / 0.27; RSS per 1,000 idle own 1.04; CPU per subscribe 2.37; "
        "node(id) SessionLive req/s 0.48; { __typename } req/s 0.72"
    )
    return section


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def _round(
    kind: str, redis_url: str, own: list[LiveSession], one: LiveSession, cfg: Config, n: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    server = _server(kind, redis_url)
    client = Client()
    try:
        with _started(server):
            subs = [[token(s.driver), {"id": s.gid}, s.sid, s.sid] for s in own]
            out["own subscribe"], out["own rss"] = _subscribe(client, server, subs, "own")
            d = _deliveries(client, server, redis_url, own, [s.sid for s in own], cfg)
            out.update({f"own {k}": v for k, v in d.items()})
            client({"cmd": "close"})
            time.sleep(1)
            tags = [f"{one.sid}#{i}" for i in range(n)]
            subs = [[token(one.driver), {"id": one.gid}, t, one.sid] for t in tags]
            _subscribe(client, server, subs, "one")
            d = _deliveries(client, server, redis_url, [one], tags, cfg)
            out.update({f"one {k}": v for k, v in d.items()})
            client({"cmd": "close"})
            time.sleep(0.5)
            out.update(_reads(client, server, one, cfg))
    finally:
        client.close()
    return out


def _rows(section: Section, figures: dict[str, dict[str, list[float]]], n: int) -> None:
    bff, yoga = figures["BFF"], figures["Yoga"]

    def ratio(name: str, key: str, target: str | None, unit: str, digits: int = 1) -> None:
        t = TARGETS.get(target or "")
        row = section.row(f"{name}: BFF / Yoga", "ratio", t[0] if t else "", t[1] if t else None, 2)
        for b, y in zip(bff.get(key, []), yoga.get(key, []), strict=False):
            row.add(b / y if y else float("nan"))
        section.row(f"{name}: BFF", unit, digits=digits).values = list(bff.get(key, []))
        section.row(f"{name}: Yoga", unit, digits=digits).values = list(yoga.get(key, []))

    ratio(f"{n:,} on one session: CPU per delivery", "one cpu", "one", "µs")
    ratio(f"{n:,} on one session: p99", "one p99", "one p99", "ms")
    ratio(f"{n:,} on one session: p50", "one p50", None, "ms")
    ratio(f"{n:,} on own sessions: CPU per delivery", "own cpu", "own", "µs")
    ratio(f"{n:,} on own sessions: p50", "own p50", "own p50", "ms")
    ratio(f"{n:,} on own sessions: p99", "own p99", "own p99", "ms")
    ratio("RSS per 1,000 idle subscribers, own sessions", "own rss", "rss", "MB")
    ratio("CPU per subscribe, own sessions", "own subscribe", "subscribe", "µs")
    ratio("`node(id)` SessionLive fields: req/s", "node", "node", "req/s", 0)
    ratio("`{ __typename }`: req/s", "trivial", "trivial", "req/s", 0)
    ratio("`node(id)` SessionLive fields: server CPU per request", "node cpu", None, "µs", 0)
    ratio("`{ __typename }`: server CPU per request", "trivial cpu", None, "µs", 0)
    for kind, got in figures.items():
        for case, label in (("one", "one session"), ("own", "own sessions")):
            for what, word in (
                ("missed", "missed"),
                ("repeats", "repeated"),
                ("reordered", "out of order"),
            ):
                values = got.get(f"{case} {what}", [])
                target = ("0", lambda v: v == 0) if kind == "BFF" else ("", None)
                section.row(
                    f"{kind}, {label}: {word} deliveries over all sockets", "msgs", target[0],
                    target[1], 0,
                ).values = list(values)  # fmt: skip
