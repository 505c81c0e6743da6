"""Subscriber processes (:mod:`bench.subscribers`) driven from the benchmark process.

One Python process is the bottleneck of thousands of sockets, so the client side is
spread over several; each answers a command with one JSON line, within a deadline.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from typing import Any

from bench.procs import ROOT


class SubscriberPool:
    """``processes`` subscriber processes (``argv``: another client speaking the same
    protocol); commands go to all of them at once."""

    def __init__(self, processes: int, argv: list[str] | None = None) -> None:
        self.procs = [
            subprocess.Popen(
                argv or [sys.executable, "-m", "bench.subscribers"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
            )
            for _ in range(processes)
        ]

    def __len__(self) -> int:
        return len(self.procs)

    def each(self, commands: list[dict[str, Any]], timeout: float = 120) -> list[dict[str, Any]]:
        """Send ``commands[i]`` to process ``i``; their replies, in order."""
        for proc, cmd in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write((json.dumps(cmd) + "\n").encode())
            proc.stdin.flush()
        replies: dict[int, dict[str, Any]] = {}
        buffers = {i: b"" for i in range(len(self.procs))}
        sel = selectors.DefaultSelector()
        for i, proc in enumerate(self.procs):
            assert proc.stdout is not None
            sel.register(proc.stdout, selectors.EVENT_READ, i)
        deadline = time.monotonic() + timeout
        try:
            while len(replies) < len(self.procs):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"subscriber processes did not answer {commands[0]['cmd']}")
                for key, _ in sel.select(left):
                    i = key.data
                    chunk = key.fileobj.read1(1 << 20)  # type: ignore[union-attr]
                    if not chunk:
                        raise RuntimeError(f"subscriber process {i} exited")
                    buffers[i] += chunk
                    if b"\n" in buffers[i]:
                        line, _, buffers[i] = buffers[i].partition(b"\n")
                        replies[i] = json.loads(line)
                        sel.unregister(key.fileobj)
        finally:
            sel.close()
        return [replies[i] for i in range(len(self.procs))]

    def all(self, cmd: dict[str, Any], timeout: float = 120) -> list[dict[str, Any]]:
        return self.each([cmd] * len(self.procs), timeout)

    def close(self) -> None:
        try:
            self.all({"cmd": "close"}, timeout=20)
        except (TimeoutError, RuntimeError, OSError):
            pass
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
