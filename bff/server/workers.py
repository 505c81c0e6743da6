"""``bff serve --workers N``: N worker processes on one port, every core used.

Each worker is a ``bff serve`` process of its own with a listening socket bound with
``SO_REUSEPORT``: the kernel spreads new connections over the workers' sockets. Workers
share nothing in memory: everything that crosses requests already lives in Redis (live
state and its bus, cooldowns, leases, budgets, rate limits, persisted queries), so a
webhook taken by one worker reaches a subscriber held by another.

The supervisor (this module) starts what the workers must share and would otherwise each
start for themselves: the embedded Redis (when ``BFF_REDIS_URL`` is unset) and, in sandbox
mode, the provider simulators as one ``bff sandbox`` process on a loopback port of its
own (its URL is logged; one simulator state for every worker). It forwards SIGTERM and
SIGINT to the workers (each finishes its requests and closes its sockets with 1012),
restarts a worker that dies on its own (at most :data:`MAX_RESTARTS` a minute), and stops
the shared processes last.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections import deque

from bff.redis_embedded import EmbeddedRedis
from bff.settings import Settings

log = logging.getLogger(__name__)

#: Restarts of crashed workers allowed in a minute before the supervisor gives up.
MAX_RESTARTS = 10
#: How long the sandbox process may take to answer.
SANDBOX_START_SECONDS = 20.0


def worker_count(settings: Settings, requested: int | None) -> int:
    """``--workers``, else ``BFF_WORKERS``, else one per core."""
    n = requested if requested is not None else settings.workers
    return n if n > 0 else (os.cpu_count() or 1)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that other workers may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Supervisor:
    """Starts the shared processes, then ``n`` workers, and keeps them running."""

    def __init__(self, settings: Settings, n: int) -> None:
        self.settings = settings
        self.n = n
        self.env = dict(os.environ)
        self.workers: dict[int, asyncio.subprocess.Process] = {}
        self.sandbox: asyncio.subprocess.Process | None = None
        self.redis: EmbeddedRedis | None = None
        self.stopping = False
        self.restarts: deque[float] = deque()

    def run(self) -> int:
        return asyncio.run(self._main())

    async def _main(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self._start_shared()
            for slot in range(self.n):
                await self._start_worker(slot)
            log.info("serving with %d workers on %s:%d (SO_REUSEPORT)", self.n,
                     self.settings.host, self.settings.port)  # fmt: skip
            watch = asyncio.create_task(self._keep_running(stop))
            await stop.wait()
            watch.cancel()
        finally:
            self.stopping = True
            await self._stop_all()
        return 0

    async def _start_shared(self) -> None:
        s = self.settings
        self.env["BFF_WORKERS"] = "1"
        self.env["BFF_PORT"] = str(s.port)
        self.env["BFF_HOST"] = s.host
        if not s.redis_url:
            self.redis = EmbeddedRedis(s.redis_data_dir)
            await self.redis.start()
            self.env["BFF_REDIS_URL"] = self.redis.url
        if s.providers == "sandbox" and not s.sandbox_url:
            port = _free_port()
            self.env["BFF_PUBLIC_URL"] = s.own_url()  # where the simulators send webhooks
            self.sandbox = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bff", "sandbox", "--host", "127.0.0.1", "--port",
                str(port), env=self.env,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            await _wait_for_port(port, SANDBOX_START_SECONDS)
            self.env["BFF_SANDBOX_URL"] = url
            log.info("provider simulators (shared by the workers) at %s", url)

    async def _start_worker(self, slot: int) -> None:
        self.workers[slot] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bff", "serve", "--worker", env=self.env
        )

    async def _keep_running(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for slot, proc in list(self.workers.items()):
                if proc.returncode is None:
                    continue
                now = time.monotonic()
                while self.restarts and self.restarts[0] < now - 60:
                    self.restarts.popleft()
                if len(self.restarts) >= MAX_RESTARTS:
                    log.error("workers keep dying (%d restarts in a minute): stopping",
                              len(self.restarts))  # fmt: skip
                    stop.set()
                    return
                self.restarts.append(now)
                log.error("worker %d (pid %d) exited with %s: restarting", slot, proc.pid,
                          proc.returncode)  # fmt: skip
                await self._start_worker(slot)
            await asyncio.sleep(0.5)

    async def _stop_all(self) -> None:
        for proc in self.workers.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers.values():
            await _wait_or_kill(proc, 15.0)
        if self.sandbox is not None:
            if self.sandbox.returncode is None:
                self.sandbox.send_signal(signal.SIGTERM)
            await _wait_or_kill(self.sandbox, 10.0)
        if self.redis is not None:
            await self.redis.stop()


async def _wait_or_kill(proc: asyncio.subprocess.Process, seconds: float) -> None:
    try:
        await asyncio.wait_for(proc.wait(), seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not listen on {port} in {seconds} s") from None
            await asyncio.sleep(0.05)
