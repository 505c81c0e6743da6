"""A throwaway Redis Cluster for the tests: 3 masters and 3 replicas on loopback ports.

Each node is a ``redis-server`` (:func:`tests.redis_server.redis_server_binary`) with
``cluster-enabled yes`` and its own folder; ``redis-cli --cluster create`` joins them
(``--cluster-replicas 1``). :meth:`RedisCluster.start` returns once every node reports
``cluster_state:ok`` and agrees on the slots, or fails after a bound.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.redis_server import redis_server_binary

#: How fast a dead master's replica takes over: ``cluster-node-timeout`` (ms).
NODE_TIMEOUT_MS = 1000


def redis_cli_binary() -> str:
    found = shutil.which("redis-cli")
    if found:
        return found
    sibling = Path(redis_server_binary()).with_name("redis-cli")
    assert sibling.exists(), "no redis-cli: install Debian's redis-tools (redis-server 7)"
    return str(sibling)


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too (so below 55536)."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterNode:
    def __init__(self, root: Path) -> None:
        self.port = cluster_port()
        self.dir = root / str(self.port)
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--maxclients", "10000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class RedisCluster:
    """Six nodes; :attr:`url` names one of them (the BFF finds the others)."""

    def __init__(self, masters: int = 3, replicas: int = 1) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bff-test-cluster-"))
        self.nodes = [ClusterNode(self.root) for _ in range(masters * (1 + replicas))]
        self.replicas = replicas

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            node.start()
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            _wait(lambda n=node: bool(n.client().ping()), deadline, "a cluster node to start")
        subprocess.run(
            [redis_cli_binary(), "--cluster", "create",
             *(f"127.0.0.1:{n.port}" for n in self.nodes),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True, capture_output=True, timeout=timeout,
        )  # fmt: skip
        self.wait_ok(deadline - time.monotonic())

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Every live node says ``cluster_state:ok`` and all agree on the masters."""
        deadline = time.monotonic() + timeout

        def ok() -> bool:
            views = set()
            for node in self.nodes:
                if not node.alive:
                    continue
                info = node.client().cluster("INFO")
                state = info.get("cluster_state") if isinstance(info, dict) else None
                if state != "ok":
                    text = info.decode() if isinstance(info, bytes) else str(info)
                    if "cluster_state:ok" not in text:
                        return False
                views.add(tuple(sorted(_masters(node.client()))))
            return len(views) == 1

        _wait(ok, deadline, "cluster_state:ok on every node")

    def wait_failover(self, dead: ClusterNode, timeout: float = 30.0) -> None:
        """Every live node maps all slots to live masters (``dead``'s replica promoted)."""
        deadline = time.monotonic() + timeout
        alive = [n for n in self.nodes if n.alive]

        def moved() -> bool:
            for node in alive:
                served = _masters(node.client())
                if any(port == dead.port for _, _, port in served):
                    return False
                if sum(end - start + 1 for start, end, _ in served) != 16384:
                    return False
            return True

        _wait(moved, deadline, f"the replica of {dead.port} to be promoted")
        self.wait_ok(deadline - time.monotonic())

    def wait_replicas(self, timeout: float = 30.0) -> None:
        """Every master has a replica in sync (its link up, its offset caught up)."""
        deadline = time.monotonic() + timeout

        def synced() -> bool:
            for node in self.nodes:
                if not node.alive:
                    continue
                info = node.client().info("replication")
                if info["role"] == "master":
                    if int(info.get("connected_slaves", 0)) < self.replicas:
                        return False
                    offset = int(info["master_repl_offset"])
                    if any(int(v["offset"]) < offset
                           for k, v in info.items() if k.startswith("slave")):  # fmt: skip
                        return False
            return True

        _wait(synced, deadline, "every master's replica in sync")

    def master_of(self, key: str) -> ClusterNode:
        """The node serving ``key``'s slot now."""
        alive = next(n for n in self.nodes if n.alive)
        slot = int(alive.client().cluster("KEYSLOT", key))
        for start, end, primary, *_ in alive.client().execute_command("CLUSTER SLOTS"):
            if int(start) <= slot <= int(end):
                port = int(primary[1])
                return next(n for n in self.nodes if n.port == port)
        raise AssertionError(f"no node serves slot {slot}")

    def move_slot(self, slot: int, source: ClusterNode, target: ClusterNode) -> None:
        """Move one slot and its keys from ``source`` to ``target`` (as resharding does)."""
        src, dst = source.client(), target.client()
        src_id, dst_id = _node_id(src), _node_id(dst)
        dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
        while True:
            names = src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100)
            if not names:
                break
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *names)
        for node in self.nodes:
            if node.alive and node.client().execute_command("ROLE")[0] == b"master":
                node.client().execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)

    def flushall(self) -> None:
        for port in {int(p[1]) for p in _masters_rows(next(n for n in self.nodes if n.alive))}:
            redis.Redis(port=port).flushall()

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _node_id(client: redis.Redis) -> str:
    raw = client.execute_command("CLUSTER MYID")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _masters_rows(node: ClusterNode) -> list[list[object]]:
    return [row[2] for row in node.client().execute_command("CLUSTER SLOTS")]


def _masters(client: redis.Redis) -> set[tuple[int, int, int]]:
    return {
        (int(start), int(end), int(primary[1]))
        for start, end, primary, *_ in client.execute_command("CLUSTER SLOTS")
    }


def _wait(check: object, deadline: float, what: str) -> None:
    assert callable(check)
    while True:
        try:
            if check():
                return
        except (redis.exceptions.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)
