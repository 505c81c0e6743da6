"""The processes a benchmark runs: its own redis-server, the sandboxes, ``bff serve``.

Everything listens on 127.0.0.1 on a free port; logs go to ``var/bench/``. Each class
starts its child in ``start()`` (waiting, bounded, until it answers) and ends exactly
that child in ``stop()``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "var" / "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def pinned(argv: list[str], cpus: str | None) -> list[str]:
    """``argv`` run on the cores ``cpus`` (``taskset -c``; it execs, so the pid is the
    command's own), or as it is."""
    if cpus is None:
        return argv
    taskset = shutil.which("taskset")
    if taskset is None:
        raise RuntimeError("taskset (util-linux) is needed to pin a server to a core")
    return [taskset, "-c", cpus, *argv]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Child:
    """A child process with a log file, stopped by its own pid only."""

    name = "child"

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}-{self.port}.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def _wait(self, ready: object, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                if callable(ready) and ready():
                    return
            except (OSError, httpx.HTTPError, redis.RedisError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RedisProc(Child):
    """A throw-away redis-server (no persistence) for one benchmark run."""

    name = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="bff-bench-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            from bff.redis_embedded import _redis_server_binary

            binary = _redis_server_binary()
        self._spawn(
            [
                binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--maxclients", "20000",
            ]
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        try:
            self._wait(client.ping)
        finally:
            client.close()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SandboxProc(Child):
    """``bff sandbox``: the three provider simulators in their own process, sending
    webhooks to ``webhook_url``."""

    name = "sandbox"

    def __init__(self, webhook_url: str, speed: float = 1.0) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.webhook_url = webhook_url
        self.speed = speed

    def start(self) -> None:
        env = {
            **os.environ,
            "BFF_PUBLIC_URL": self.webhook_url,
            "BFF_SANDBOX_SPEED": str(self.speed),
            "BFF_LOG_LEVEL": "WARNING",
        }
        self._spawn([sys.executable, "-m", "bff", "sandbox", "--port", str(self.port)], env=env)
        self._wait(lambda: httpx.get(f"{self.url}/plugsurfing/_control/stats").is_success)

    def control(self, provider: str, path: str, body: object | None = None) -> object:
        url = f"{self.url}/{provider}{path}"
        r = httpx.post(url, json=body) if body is not None else httpx.get(url)
        r.raise_for_status()
        return r.json()


class BffProc(Child):
    """One ``bff serve`` worker."""

    name = "bff"

    def __init__(
        self, env: dict[str, str], port: int | None = None, cpus: str | None = None
    ) -> None:
        super().__init__()
        if port is not None:
            self.port = port
        #: ``taskset -c`` list this worker is pinned to (None: any core).
        self.cpus = cpus
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "BFF_LOG_LEVEL": "WARNING",
            **env,
            "BFF_HOST": "127.0.0.1",
            "BFF_PORT": str(self.port),
        }

    def start(self) -> None:
        argv = [sys.executable, "-m", "bff", "serve", "--port", str(self.port)]
        self._spawn(pinned(argv, self.cpus), self.env)
        self._wait(lambda: httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200, 60)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def profile(self, label: str, seconds: float) -> subprocess.Popen[bytes] | None:
        """With ``BENCH_PROFILE=<dir>`` and py-spy on PATH (a development aid, not a
        dependency), sample this worker for ``seconds`` into ``<dir>/<label>.txt``
        (collapsed stacks; ``BENCH_PROFILE_RATE`` samples a second, 200 by default);
        otherwise nothing. ``python -m bench.stages <dir>`` sums them by stage."""
        where, spy = os.environ.get("BENCH_PROFILE"), shutil.which("py-spy")
        if not where or spy is None:
            return None
        Path(where).mkdir(parents=True, exist_ok=True)
        out = Path(where) / f"{label}.txt"
        rate = os.environ.get("BENCH_PROFILE_RATE", "200")  # samples a second
        argv = [spy, "record", "-p", str(self.pid), "-d", str(int(seconds)), "-r", rate]
        return subprocess.Popen(
            [*argv, "-f", "raw", "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def redis_connections(self, redis_url: str) -> int:
        """This process's connections to Redis, by the client names it gives them
        (``bff:<pid>`` for the pool, ``bff-pubsub:<pid>`` for the subscriber)."""
        client = redis.Redis.from_url(redis_url)
        try:
            clients = client.client_list()
        finally:
            client.close()
        names = {f"bff:{self.pid}", f"bff-pubsub:{self.pid}"}
        return sum(1 for c in clients if c.get("name") in names)
