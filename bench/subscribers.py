"""A subscriber process: holds many graphql-transport-ws subscriptions for a benchmark.

Driven over stdin/stdout, one JSON object a line each way (see :class:`Subscribers`):
``open`` (connect and subscribe, bounded concurrency), ``reset`` (start counting),
``stats`` (what arrived since), ``pause`` (stop reading: the first ``count``, or those
with ``tag``), ``close``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from bench.wsclient import WsConn, open_subscription


class Subscribers:
    """The subscriptions of this process and what they received."""

    def __init__(self) -> None:
        self.conns: list[WsConn] = []
        self.latencies: list[float] = []
        #: tag -> [distinct updates, repeats, out of order, highest order key seen,
        #: the last updatedAt received]
        self.per_tag: dict[str, list[Any]] = {}
        self.seen: dict[int, set[Any]] = {}  # socket -> order keys seen
        self.counting = False

    def on_next(self, conn: WsConn, payload: dict[str, Any], at: float) -> None:
        if not self.counting:
            return
        data = payload.get("data") or {}
        node = next(iter(data.values()), None) if data else None
        stamp = node.get("updatedAt") if isinstance(node, dict) else None
        if stamp is None:
            return
        self.latencies.append(at - datetime.fromisoformat(stamp).timestamp())
        # Per socket: every update is a new energy reading (the benchmarks raise it with
        # each one), so a reading seen before is a repeat wherever it comes, and one
        # below the highest seen came out of order.
        energy = node.get("energy") if isinstance(node, dict) else None
        key = energy.get("wattHours") if isinstance(energy, dict) else None
        order = key if isinstance(key, int) else stamp
        seen = self.per_tag.setdefault(str(conn.tag), [0, 0, 0, None, None])
        seen[4] = stamp
        keys = self.seen.setdefault(id(conn), set())
        if order in keys:
            seen[1] += 1
            return
        keys.add(order)
        seen[0] += 1
        if seen[3] is not None and order < seen[3]:
            seen[2] += 1
        else:
            seen[3] = order

    async def open(self, cmd: dict[str, Any]) -> dict[str, Any]:
        sem = asyncio.Semaphore(int(cmd.get("concurrency", 64)))
        failed: list[str] = []

        async def one(token: str, variables: dict[str, Any], tag: str) -> None:
            async with sem:
                try:
                    conn = await open_subscription(
                        cmd["host"], cmd["port"], token, cmd["query"], variables,
                        self.on_next, tag, float(cmd.get("timeout", 60)),
                    )  # fmt: skip
                except (OSError, TimeoutError, ConnectionError) as exc:
                    failed.append(repr(exc))
                    return
                self.conns.append(conn)

        await asyncio.gather(*(one(t, v, g) for t, v, g in cmd["subs"]))
        return {"opened": len(self.conns), "failed": len(failed), "sample": failed[:3]}

    def reset(self) -> dict[str, Any]:
        self.latencies = []
        self.per_tag = {}
        self.seen = {}
        self.counting = True
        return {"ok": True}

    def stats(self) -> dict[str, Any]:
        closed = sum(1 for c in self.conns if c.closed.done())
        return {
            "received": len(self.latencies),
            "latencies": self.latencies,
            "per_tag": self.per_tag,
            "closed": closed,
        }

    def pause(self, cmd: dict[str, Any]) -> dict[str, Any]:
        if "tag" in cmd:  # by tag: sockets open concurrently, so their order is not fixed
            chosen = [c for c in self.conns if str(c.tag) == str(cmd["tag"])]
        else:
            chosen = self.conns[: int(cmd.get("count", len(self.conns)))]
        for c in chosen:
            c.pause()
        return {"paused": len(chosen)}

    def close(self) -> dict[str, Any]:
        for c in self.conns:
            c.abort()
        return {"closed": len(self.conns)}


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    subs = Subscribers()
    while True:
        line = await reader.readline()
        if not line:
            subs.close()
            return
        cmd = json.loads(line)
        kind = cmd["cmd"]
        if kind == "open":
            reply = await subs.open(cmd)
        elif kind == "reset":
            reply = subs.reset()
        elif kind == "stats":
            reply = subs.stats()
        elif kind == "pause":
            reply = subs.pause(cmd)
        else:
            reply = subs.close()
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if kind == "close":
            await asyncio.sleep(0.2)  # let the aborts go out
            return


if __name__ == "__main__":
    from bench.run import raise_fd_limit

    raise_fd_limit()
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover
        asyncio.run(main())
